// A client-node ListWatch cache that restarts itself with back-off after any error and never exits the process
// (STYLE: no process.exit on a watch error). Consumers are level-based: every event only names an object to
// re-read from the cache.
import {
  ListWatch,
  Watch,
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
} from '@kubernetes/client-node';

export interface Cache<T> {
  get(name: string, namespace?: string): T | undefined;
  list(namespace?: string): readonly T[];
  /** Resolves once the first list succeeded. */
  readonly synced: Promise<void>;
  stop(): Promise<void>;
}

export interface CacheOptions<T extends KubernetesObject> {
  readonly kubeConfig: KubeConfig;
  /** e.g. `/api/v1/pods`. */
  readonly path: string;
  readonly fieldSelector?: string;
  readonly list: () => Promise<KubernetesListObject<T>>;
  /** Any add, update or delete of `obj` (as last seen). */
  readonly onChange: (obj: T) => void;
  readonly log: (line: string) => void;
}

/**
 * ListWatch stops after a failed list or a watch error other than 410 Gone; this starts it again after a delay that
 * doubles per failure (0.5 s to 30 s) and resets on the next event.
 */
export function startCache<T extends KubernetesObject>(o: CacheOptions<T>): Cache<T> {
  let markSynced = (): void => undefined;
  const synced = new Promise<void>((r) => (markSynced = r));
  const lw = new ListWatch<T>(
    o.path,
    new Watch(o.kubeConfig),
    async () => {
      const list = await o.list();
      markSynced();
      return list;
    },
    false,
    undefined,
    o.fieldSelector,
  );
  let delay: number | undefined;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const onEvent = (obj: T): void => {
    delay = undefined;
    o.onChange(obj);
  };
  const restart = (err: unknown): void => {
    if (stopped || timer !== undefined) return;
    delay = delay === undefined ? 500 : Math.min(delay * 2, 30_000);
    o.log(
      `${o.path}: watch failed (${err instanceof Error ? err.message : String(err)}); restarting in ${delay} ms`,
    );
    timer = setTimeout(() => {
      timer = undefined;
      if (!stopped) lw.start().catch(restart);
    }, delay);
  };
  lw.on('add', onEvent);
  lw.on('update', onEvent);
  lw.on('delete', onEvent);
  lw.on('error', restart);
  lw.start().catch(restart);
  return {
    get: (name, namespace) => lw.get(name, namespace),
    list: (namespace) => lw.list(namespace),
    synced,
    stop: async () => {
      stopped = true;
      if (timer !== undefined) clearTimeout(timer);
      await lw.stop();
    },
  };
}
