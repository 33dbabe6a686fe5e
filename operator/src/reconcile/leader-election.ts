// Leader election on a coordination.k8s.io Lease, as client-go's leaderelection does, so that of several operator
// replicas exactly one acts. Expiry is judged by when *this* process last saw the lease change (not by comparing
// clocks across machines): a lease nobody renewed for leaseDuration of our own time is free to take. Every update
// carries the resourceVersion it read, so two candidates racing for it cannot both win (the loser gets 409).
import {
  ApiException,
  CoordinationV1Api,
  V1MicroTime,
  type KubeConfig,
  type V1Lease,
} from '@kubernetes/client-node';

export interface LeaderElectionOptions {
  readonly kc: KubeConfig;
  readonly namespace: string;
  readonly name: string;
  /** Unique per process (the pod name). */
  readonly identity: string;
  /** @default 15_000 */
  readonly leaseDurationMs?: number;
  /** How often the leader renews; it gives up when it could not renew for `renewDeadlineMs`. @default 5_000 */
  readonly renewEveryMs?: number;
  /** @default 10_000 */
  readonly renewDeadlineMs?: number;
  /** How often a follower retries. @default 2_000 */
  readonly retryEveryMs?: number;
  onStartedLeading(): void;
  onStoppedLeading(): void;
  log?(line: string): void;
  /** @default Date.now */
  now?(): number;
}

export class LeaderElector {
  readonly #o: LeaderElectionOptions;
  readonly #api: CoordinationV1Api;
  #leading = false;
  #lastRenewed = 0;
  #observed: { resourceVersion: string; at: number } | undefined;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;

  constructor(o: LeaderElectionOptions) {
    this.#o = o;
    this.#api = o.kc.makeApiClient(CoordinationV1Api);
  }

  #now(): number {
    return (this.#o.now ?? Date.now)();
  }

  get #durationMs(): number {
    return this.#o.leaseDurationMs ?? 15_000;
  }

  /** True only while the lease is ours and renewed within the deadline: check before every write. */
  isLeader(): boolean {
    return this.#leading && this.#now() - this.#lastRenewed < (this.#o.renewDeadlineMs ?? 10_000);
  }

  start(): void {
    void this.#tick();
  }

  /** Stops campaigning; a leader releases the lease so another replica takes over at once. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    if (this.#leading) {
      this.#setLeading(false);
      await this.#release().catch((e: unknown) =>
        this.#o.log?.(`leader election: release failed: ${String(e)}`),
      );
    }
  }

  async #tick(): Promise<void> {
    if (this.#stopped) return;
    try {
      const won = await this.#tryAcquireOrRenew();
      if (won) this.#lastRenewed = this.#now();
      if (won !== this.#leading && !this.#stopped) this.#setLeading(won);
    } catch (err) {
      this.#o.log?.(`leader election: ${err instanceof Error ? err.message : String(err)}`);
    }
    if (this.#leading && !this.isLeader()) this.#setLeading(false);
    if (this.#stopped) return;
    const every = this.#leading ? (this.#o.renewEveryMs ?? 5_000) : (this.#o.retryEveryMs ?? 2_000);
    this.#timer = setTimeout(() => void this.#tick(), every);
  }

  #setLeading(leading: boolean): void {
    this.#leading = leading;
    this.#o.log?.(
      `leader election: ${this.#o.identity} ${leading ? 'is now the leader' : 'stopped leading'}`,
    );
    if (leading) this.#o.onStartedLeading();
    else this.#o.onStoppedLeading();
  }

  async #read(): Promise<V1Lease | undefined> {
    try {
      return await this.#api.readNamespacedLease({ name: this.#o.name, namespace: this.#o.namespace });
    } catch (err) {
      if (err instanceof ApiException && err.code === 404) return undefined;
      throw err;
    }
  }

  /** One round: returns whether we hold the lease afterwards. */
  async #tryAcquireOrRenew(): Promise<boolean> {
    const now = new V1MicroTime(this.#now());
    const durationSeconds = Math.ceil(this.#durationMs / 1000);
    const lease = await this.#read();
    if (!lease) {
      try {
        await this.#api.createNamespacedLease({
          namespace: this.#o.namespace,
          body: {
            metadata: { name: this.#o.name, namespace: this.#o.namespace },
            spec: {
              holderIdentity: this.#o.identity,
              leaseDurationSeconds: durationSeconds,
              acquireTime: now,
              renewTime: now,
              leaseTransitions: 0,
            },
          },
        });
        return true;
      } catch (err) {
        if (err instanceof ApiException && err.code === 409) return false;
        throw err;
      }
    }
    const rv = lease.metadata?.resourceVersion ?? '';
    if (this.#observed?.resourceVersion !== rv) this.#observed = { resourceVersion: rv, at: this.#now() };
    const holder = lease.spec?.holderIdentity ?? '';
    const mine = holder === this.#o.identity;
    const heldMs = (lease.spec?.leaseDurationSeconds ?? durationSeconds) * 1000;
    const expired = holder === '' || this.#now() - this.#observed.at >= heldMs;
    if (!mine && !expired) return false;
    const spec = {
      ...lease.spec,
      holderIdentity: this.#o.identity,
      leaseDurationSeconds: durationSeconds,
      renewTime: now,
      ...(mine ? {} : { acquireTime: now, leaseTransitions: (lease.spec?.leaseTransitions ?? 0) + 1 }),
    };
    try {
      const updated = await this.#api.replaceNamespacedLease({
        name: this.#o.name,
        namespace: this.#o.namespace,
        body: { ...lease, spec },
      });
      this.#observed = { resourceVersion: updated.metadata?.resourceVersion ?? '', at: this.#now() };
      return true;
    } catch (err) {
      if (err instanceof ApiException && err.code === 409) return false;
      throw err;
    }
  }

  async #release(): Promise<void> {
    const lease = await this.#read();
    if (lease?.spec?.holderIdentity !== this.#o.identity) return;
    await this.#api.replaceNamespacedLease({
      name: this.#o.name,
      namespace: this.#o.namespace,
      body: { ...lease, spec: { ...lease.spec, holderIdentity: '', leaseDurationSeconds: 1 } },
    });
  }
}
