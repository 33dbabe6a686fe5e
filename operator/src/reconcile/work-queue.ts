// A keyed work queue for level-based reconcilers (STYLE §4): events only add a key; a key is queued at most once,
// never processed by two workers at once, and a key added while it is being processed runs again afterwards.
// Failed keys come back after an exponential backoff; a reconcile may ask to run again after a delay.

/** What a reconcile asks for. `requeueAfter` runs the key again after that many milliseconds. */
export interface Result {
  readonly requeueAfter?: number;
}

/** A failure that retrying cannot fix (bad input): logged, not retried until the key changes again. */
export class TerminalError extends Error {
  readonly code = 'ERR_TERMINAL';
}

export interface WorkQueueOptions<K> {
  /** Does the work for one key; resolves when done, throws to be retried with backoff. */
  reconcile(key: K): Promise<Result | void>;
  /** @default 200 */
  readonly baseDelayMs?: number;
  /** @default 60_000 */
  readonly maxDelayMs?: number;
  log?(line: string): void;
}

export class WorkQueue<K extends string> {
  readonly #opts: WorkQueueOptions<K>;
  readonly #queued = new Set<K>();
  readonly #order: K[] = [];
  readonly #active = new Set<K>();
  readonly #dirty = new Set<K>();
  readonly #failures = new Map<K, number>();
  readonly #timers = new Map<K, NodeJS.Timeout>();
  #running = false;
  #stopped = false;
  #idleWaiters: (() => void)[] = [];

  constructor(opts: WorkQueueOptions<K>) {
    this.#opts = opts;
  }

  /** Queues a key (deduplicated). Cancels a pending delayed requeue: the key runs now instead. */
  add(key: K): void {
    if (this.#stopped) return;
    const timer = this.#timers.get(key);
    if (timer) {
      clearTimeout(timer);
      this.#timers.delete(key);
    }
    if (this.#active.has(key)) {
      this.#dirty.add(key);
      return;
    }
    if (this.#queued.has(key)) return;
    this.#queued.add(key);
    this.#order.push(key);
    // Start on a microtask so that adds in the same tick coalesce before the first reconcile.
    queueMicrotask(() => void this.#drain());
  }

  /** Queues the key after a delay, unless something queues it sooner. */
  addAfter(key: K, delayMs: number): void {
    if (this.#stopped || this.#timers.has(key)) return;
    const t = setTimeout(() => {
      this.#timers.delete(key);
      this.add(key);
    }, delayMs);
    t.unref();
    this.#timers.set(key, t);
  }

  /** Resolves once nothing is queued or running (delayed requeues do not count). */
  idle(): Promise<void> {
    if (this.#order.length === 0 && this.#active.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  stop(): void {
    this.#stopped = true;
    for (const t of this.#timers.values()) clearTimeout(t);
    this.#timers.clear();
    this.#order.length = 0;
    this.#queued.clear();
  }

  backoffMs(failures: number): number {
    const base = this.#opts.baseDelayMs ?? 200;
    return Math.min(base * 2 ** Math.max(0, failures - 1), this.#opts.maxDelayMs ?? 60_000);
  }

  // One worker: reconciles of different keys run one after another. Each kind has its own queue (STYLE §4), so a
  // slow Gateway does not hold up the Mesh.
  async #drain(): Promise<void> {
    if (this.#running) return;
    this.#running = true;
    try {
      for (let key = this.#order.shift(); key !== undefined && !this.#stopped; key = this.#order.shift()) {
        this.#queued.delete(key);
        this.#active.add(key);
        await this.#process(key);
        this.#active.delete(key);
        if (this.#dirty.delete(key)) this.add(key);
      }
    } finally {
      this.#running = false;
      if (this.#order.length === 0 && this.#active.size === 0) {
        const waiters = this.#idleWaiters;
        this.#idleWaiters = [];
        for (const w of waiters) w();
      }
    }
  }

  async #process(key: K): Promise<void> {
    try {
      const result = await this.#opts.reconcile(key);
      this.#failures.delete(key);
      if (result?.requeueAfter !== undefined) this.addAfter(key, result.requeueAfter);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      if (err instanceof TerminalError) {
        this.#failures.delete(key);
        this.#opts.log?.(`reconcile ${key}: ${message} (not retried)`);
        return;
      }
      const failures = (this.#failures.get(key) ?? 0) + 1;
      this.#failures.set(key, failures);
      const delay = this.backoffMs(failures);
      this.#opts.log?.(`reconcile ${key} failed (attempt ${failures}, retry in ${delay} ms): ${message}`);
      this.addAfter(key, delay);
    }
  }
}
