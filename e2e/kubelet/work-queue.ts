// A per-key work queue for level-based reconciles: keys are deduplicated, one reconcile per key at a time.
import { RETRY_BACKOFF, nextBackoff, type BackoffPolicy } from './backoff.ts';

/** What a reconcile asks for: run again after a delay (undefined: only when an event arrives). */
export interface ReconcileResult {
  readonly requeueAfterMs?: number;
}

export interface WorkQueueOptions {
  /** Re-reads the desired state for the key and acts on it; must be safe to call at any time. */
  readonly reconcile: (key: string) => Promise<ReconcileResult | undefined>;
  /** A reconcile threw: the key is retried with back-off. */
  readonly onError: (key: string, err: unknown) => void;
  /** @default RETRY_BACKOFF */
  readonly errorBackoff?: BackoffPolicy;
}

/**
 * Invariants (controller-runtime's workqueue):
 * 1. a key is reconciled by at most one call at a time; an `add` during the call runs it once more afterwards;
 * 2. any number of `add`s before a call starts collapse into that one call;
 * 3. `addAfter` keeps only the earliest pending timer of a key;
 * 4. a throwing reconcile is reported and retried after a per-key back-off, reset by the next success;
 * 5. after `stop()` nothing new starts; it resolves once the running calls are done.
 */
export class WorkQueue {
  readonly #o: WorkQueueOptions;
  readonly #running = new Map<string, Promise<void>>();
  readonly #dirty = new Set<string>();
  readonly #timers = new Map<string, { readonly at: number; readonly timer: NodeJS.Timeout }>();
  readonly #failures = new Map<string, number>();
  #stopped = false;

  constructor(o: WorkQueueOptions) {
    this.#o = o;
  }

  add(key: string): void {
    if (this.#stopped) return;
    if (this.#running.has(key)) {
      this.#dirty.add(key);
      return;
    }
    this.#running.set(key, this.#run(key));
  }

  addAfter(key: string, ms: number): void {
    if (this.#stopped) return;
    if (ms <= 0) {
      this.add(key);
      return;
    }
    const at = Date.now() + ms;
    const pending = this.#timers.get(key);
    if (pending !== undefined) {
      if (pending.at <= at) return;
      clearTimeout(pending.timer);
    }
    const timer = setTimeout(() => {
      this.#timers.delete(key);
      this.add(key);
    }, ms);
    this.#timers.set(key, { at, timer });
  }

  /** Keys being reconciled right now. */
  get busy(): number {
    return this.#running.size;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    for (const { timer } of this.#timers.values()) clearTimeout(timer);
    this.#timers.clear();
    this.#dirty.clear();
    while (this.#running.size > 0) await Promise.all([...this.#running.values()]);
  }

  async #run(key: string): Promise<void> {
    await Promise.resolve(); // let the caller's add() return before the reconcile starts
    try {
      const result = await this.#o.reconcile(key);
      this.#failures.delete(key);
      if (result?.requeueAfterMs !== undefined) this.addAfter(key, result.requeueAfterMs);
    } catch (err) {
      const delay = nextBackoff(this.#o.errorBackoff ?? RETRY_BACKOFF, this.#failures.get(key));
      this.#failures.set(key, delay);
      try {
        this.#o.onError(key, err);
      } catch {
        // a broken logger must not break the queue
      }
      this.addAfter(key, delay);
    } finally {
      this.#running.delete(key);
      if (this.#dirty.delete(key)) this.add(key);
    }
  }
}
