// The box's LoadBalancer controller (cloud-provider-kind's job): watches Services and writes each LoadBalancer
// Service's address from the pool into its status; kube-proxy on every node then serves that address.
import {
  CoreV1Api,
  makeInformer,
  type Informer,
  type KubeConfig,
  type ObjectCache,
  type V1Service,
} from '@kubernetes/client-node';
import type { ApiClient } from '../cluster/rest.ts';
import { apiError } from '../cluster/rest.ts';
import { BoxError } from './errors.ts';
import { allocate, pool as defaultPool, type Pool } from './lb-pool.ts';
import { ingressMatches, ingressPatch, lbServiceOf } from './lb-status.ts';

const RETRY_MS = 1_000;

export interface LbAllocatorOptions {
  /** Admin config for the Service informer. */
  readonly kubeConfig: KubeConfig;
  /** Admin client for status patches. */
  readonly api: ApiClient;
  /** @default 172.30.0.200-250 */
  readonly pool?: Pool;
  /** Called with failures the allocator retries on its own (watch errors, refused patches). */
  readonly onError?: (err: Error) => void;
}

export interface LbAllocator {
  /** Stops watching; an update in progress finishes first. Idempotent. */
  stop(): Promise<void>;
}

/**
 * Level-based: every event only marks the pool dirty; one pass re-reads every Service from the informer cache,
 * computes the whole allocation (lb-pool.ts) and patches the statuses that differ. The pool is one key because
 * addresses are shared among all Services.
 */
class Allocator implements LbAllocator {
  readonly #o: LbAllocatorOptions;
  readonly #pool: Pool;
  readonly #informer: Informer<V1Service> & ObjectCache<V1Service>;
  #running: Promise<void> | undefined;
  #dirty = false;
  #stopped = false;
  /** Pending delayed work (an informer restart, a retried pass), cleared on stop. */
  readonly #timers = new Set<NodeJS.Timeout>();

  constructor(o: LbAllocatorOptions) {
    this.#o = o;
    this.#pool = o.pool ?? defaultPool();
    const core = o.kubeConfig.makeApiClient(CoreV1Api);
    this.#informer = makeInformer<V1Service>(o.kubeConfig, '/api/v1/services', () =>
      core.listServiceForAllNamespaces(),
    );
    const kick = (): void => this.#kick();
    this.#informer.on('add', kick);
    this.#informer.on('update', kick);
    this.#informer.on('delete', kick);
    // client-node's informer stops on an error; start it again (it relists) unless we are stopping.
    this.#informer.on('error', (err: unknown) => {
      this.#report(err);
      this.#later(() => void this.#informer.start().catch((e: unknown) => this.#report(e)));
    });
  }

  async start(): Promise<void> {
    await this.#informer.start();
    this.#kick();
  }

  #report(err: unknown): void {
    if (!this.#stopped) this.#o.onError?.(err instanceof Error ? err : new Error(String(err)));
  }

  #later(work: () => void): void {
    if (this.#stopped) return;
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      if (!this.#stopped) work();
    }, RETRY_MS);
    timer.unref();
    this.#timers.add(timer);
  }

  #kick(): void {
    this.#dirty = true;
    if (this.#running !== undefined) return;
    this.#running = this.#drain().finally(() => {
      this.#running = undefined;
      // An event that came after the last pass read the cache but before this ran must not be lost.
      if (this.#dirty && !this.#stopped) this.#kick();
    });
  }

  async #drain(): Promise<void> {
    while (this.#dirty && !this.#stopped) {
      this.#dirty = false;
      try {
        await this.#reconcile();
      } catch (err) {
        this.#report(err);
        this.#later(() => this.#kick());
      }
    }
  }

  async #reconcile(): Promise<void> {
    const services = this.#informer.list();
    const wanted = allocate(this.#pool, services.map(lbServiceOf));
    const failures: Error[] = [];
    for (const svc of services) {
      const key = lbServiceOf(svc).key;
      if (!wanted.has(key)) continue;
      const ip = wanted.get(key);
      if (ingressMatches(svc, ip)) continue;
      const [namespace, name] = key.split('/');
      const res = await this.#o.api.request(
        'PATCH',
        `/api/v1/namespaces/${namespace}/services/${name}/status`,
        {
          body: JSON.stringify(ingressPatch(ip)),
          contentType: 'application/merge-patch+json',
        },
      );
      // 404: deleted since the cache saw it; its delete event brings another pass.
      if (res.status !== 200 && res.status !== 404) {
        failures.push(
          new BoxError('ERR_BOX_API', apiError(`set load balancer address of ${key}`, res).message),
        );
      }
    }
    if (failures.length > 0) throw new AggregateError(failures, failures.map((f) => f.message).join('; '));
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    await this.#informer.stop();
    await this.#running;
  }
}

/** Starts the allocator; resolves once the informer has listed the Services (the first pass is under way). */
export async function startLbAllocator(o: LbAllocatorOptions): Promise<LbAllocator> {
  const allocator = new Allocator(o);
  try {
    await allocator.start();
  } catch (err) {
    await allocator.stop();
    throw err;
  }
  return allocator;
}
