// Reconciles pods by key against the node's pod cache: one PodWorker per pod uid, dropped once torn down.
import type { V1Pod } from '@kubernetes/client-node';
import type { ContainerHandle } from './container.ts';
import type { PodWorkerContext } from './pod-resources.ts';
import { PodWorker } from './pod-worker.ts';
import type {
  RuntimeAnswer,
  RuntimeContainer,
  RuntimeLog,
  RuntimePod,
  RuntimeView,
} from './runtime-socket.ts';
import type { ReconcileResult } from './work-queue.ts';

/** The node's view of its pods (the pod informer's cache). */
export interface PodCache {
  get(name: string, namespace?: string): V1Pod | undefined;
  list(): readonly V1Pod[];
}

export function podKey(pod: V1Pod): string {
  return `${pod.metadata?.namespace ?? ''}/${pod.metadata?.name ?? ''}`;
}

/**
 * `reconcile(key)` is level-based: it reads the cache and compares it with the workers of that key.
 * 1. A worker whose uid is not the cached pod's (the pod was deleted, force-deleted or recreated under the same
 *    name) is torn down, then dropped with its logs.
 * 2. The cached pod, if bound to this node, is synced by its worker (created on first sight).
 * The last object seen per key is kept only to give a vanished pod's teardown its deletion grace period.
 */
export class PodManager {
  readonly #ctx: PodWorkerContext;
  readonly #cache: PodCache;
  readonly #requeue: (key: string, ms?: number) => void;
  readonly #workers = new Map<string, PodWorker>();
  readonly #lastSeen = new Map<string, V1Pod>();

  constructor(ctx: PodWorkerContext, cache: PodCache, requeue: (key: string, ms?: number) => void) {
    this.#ctx = ctx;
    this.#cache = cache;
    this.#requeue = requeue;
  }

  /** Notes the object an event carried and returns the key to reconcile. */
  observe(pod: V1Pod): string {
    const key = podKey(pod);
    this.#lastSeen.set(key, pod);
    return key;
  }

  /** Every key with a worker or a cached pod (for periodic resyncs). */
  keys(): string[] {
    const keys = new Set(this.#cache.list().map(podKey));
    for (const w of this.#workers.values()) keys.add(w.key);
    return [...keys];
  }

  async reconcile(key: string): Promise<ReconcileResult> {
    const slash = key.indexOf('/');
    const cached = this.#cache.get(key.slice(slash + 1), key.slice(0, slash));
    const desired = cached?.spec?.nodeName === this.#ctx.nodeName ? cached : undefined;
    const uid = desired?.metadata?.uid;
    for (const w of [...this.#workers.values()]) {
      if (w.key !== key || w.uid === uid) continue;
      if (!w.finished) {
        w.remove(this.#lastSeen.get(key));
        continue;
      }
      this.#workers.delete(w.uid);
      await w.removeLogs();
    }
    if (desired === undefined || uid === undefined) {
      if (![...this.#workers.values()].some((w) => w.key === key)) this.#lastSeen.delete(key);
      return {};
    }
    let worker = this.#workers.get(uid);
    if (worker === undefined) {
      worker = new PodWorker(this.#ctx, desired, (ms) => this.#requeue(key, ms));
      this.#workers.set(uid, worker);
    }
    return worker.sync(desired);
  }

  #worker(namespace: string, name: string): PodWorker | undefined {
    const key = `${namespace}/${name}`;
    const uid = this.#cache.get(name, namespace)?.metadata?.uid;
    const all = [...this.#workers.values()].filter((w) => w.key === key);
    return all.find((w) => w.uid === uid) ?? all[all.length - 1];
  }

  logPath(namespace: string, pod: string, container: string, previous = false): string | undefined {
    return this.#worker(namespace, pod)?.logPath(container, previous);
  }

  container(namespace: string, pod: string, container: string): ContainerHandle | undefined {
    return this.#worker(namespace, pod)?.container(container);
  }

  /** What the kubelet server asks about (over the runtime socket): the pod found as for logPath and container. */
  runtimeView(): RuntimeView {
    const missing = (pod: string) =>
      ({ ok: false, status: 404, message: `pod "${pod}" does not exist` }) as const;
    return {
      pod: (namespace, name): RuntimeAnswer<RuntimePod> => {
        const w = this.#worker(namespace, name);
        return w === undefined ? missing(name) : { ok: true, value: w.runtimePod() };
      },
      container: (namespace, pod, container): RuntimeAnswer<RuntimeContainer> =>
        this.#worker(namespace, pod)?.runtimeContainer(container) ?? missing(pod),
      log: (namespace, pod, container, previous): RuntimeAnswer<RuntimeLog> =>
        this.#worker(namespace, pod)?.runtimeLog(container, previous) ?? missing(pod),
      running: (containerID) => [...this.#workers.values()].some((w) => w.isRunning(containerID)),
    };
  }

  /** Node shutdown: every pod stopped and torn down in parallel; Pod objects are left as they are. */
  async shutdown(maxGraceSeconds: number): Promise<void> {
    const workers = [...this.#workers.values()];
    await Promise.all(workers.map((w) => w.shutdown(maxGraceSeconds)));
    this.#workers.clear();
    this.#lastSeen.clear();
  }
}
