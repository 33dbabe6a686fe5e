// A list-watch cache (client-node ListWatch) that restarts itself with back-off after any error, never exiting.
import {
  ListWatch,
  Watch,
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
} from '@kubernetes/client-node';
import { RETRY_BACKOFF, nextBackoff, type BackoffPolicy } from './backoff.ts';

export interface InformerOptions<T extends KubernetesObject> {
  readonly kubeConfig: KubeConfig;
  /** The collection, e.g. `/api/v1/pods`. */
  readonly path: string;
  readonly fieldSelector?: string;
  /** Lists the collection (with the same selector). */
  readonly list: () => Promise<KubernetesListObject<T>>;
  /** Any add, update or delete: the object as last seen (level-based consumers re-read the cache). */
  readonly onChange: (obj: T) => void;
  readonly log: (line: string) => void;
  /** @default RETRY_BACKOFF (0.5 s doubling to 30 s) */
  readonly backoff?: BackoffPolicy;
}

export interface Informer<T> {
  get(name: string, namespace?: string): T | undefined;
  list(): readonly T[];
  /** Resolves once the first list succeeded. */
  readonly synced: Promise<void>;
  stop(): Promise<void>;
}

/**
 * ListWatch ends (it does not retry) after a failed list or a watch error other than 410 Gone; this restarts it
 * after a back-off that doubles per failure and resets on the next event. A restart resumes from the last
 * resourceVersion; a 410 on that makes ListWatch relist, which reports deletions it missed.
 */
export function startInformer<T extends KubernetesObject>(o: InformerOptions<T>): Informer<T> {
  let markSynced = (): void => undefined;
  const synced = new Promise<void>((resolve) => (markSynced = resolve));
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
  const policy = o.backoff ?? RETRY_BACKOFF;
  let delay: number | undefined;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;

  const onEvent = (obj: T): void => {
    delay = undefined;
    try {
      o.onChange(obj);
    } catch (err) {
      o.log(`${o.path}: event handler failed: ${err instanceof Error ? err.message : String(err)}`);
    }
  };
  const restart = (err: unknown): void => {
    if (stopped || timer !== undefined) return;
    delay = nextBackoff(policy, delay);
    const why = err instanceof Error ? err.message : String(err);
    o.log(`${o.path}: watch failed (${why}); restarting in ${delay} ms`);
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
    list: () => lw.list(),
    synced,
    stop: async () => {
      stopped = true;
      if (timer !== undefined) clearTimeout(timer);
      await lw.stop();
    },
  };
}
