// A per-key work queue for level-based reconciles, with a way to wait for a key's next reconcile (the CNI request
// waits for its pod's capture).
//
// Invariants:
//  1. a key is reconciled by at most one call at a time; an `add` during the call runs it once more afterwards;
//  2. any number of `add`s before a call starts collapse into that call;
//  3. a throwing reconcile is reported and retried after a per-key back-off (0.2 s doubling to 30 s), reset by a
//     success;
//  4. `settle(key)` resolves (or rejects with its error) when a reconcile that started after the call ends.

export interface WorkQueueOptions {
  readonly reconcile: (key: string) => Promise<void>;
  readonly onError: (key: string, err: unknown) => void;
  /** @default 200 */
  readonly initialBackoffMs?: number;
  /** @default 30_000 */
  readonly maxBackoffMs?: number;
}

interface Waiter {
  readonly resolve: () => void;
  readonly reject: (err: unknown) => void;
}

export class WorkQueue {
  readonly #o: WorkQueueOptions;
  readonly #running = new Map<string, Promise<void>>();
  readonly #dirty = new Set<string>();
  readonly #timers = new Map<string, NodeJS.Timeout>();
  readonly #backoff = new Map<string, number>();
  /** Waiters for the next reconcile to start, by key. */
  readonly #waiting = new Map<string, Waiter[]>();
  #stopped = false;

  constructor(o: WorkQueueOptions) {
    this.#o = o;
  }

  add(key: string): void {
    if (this.#stopped) return;
    const t = this.#timers.get(key);
    if (t !== undefined) {
      clearTimeout(t);
      this.#timers.delete(key);
    }
    if (this.#running.has(key)) {
      this.#dirty.add(key);
      return;
    }
    this.#running.set(key, this.#run(key));
  }

  /** Enqueues the key and resolves after a reconcile of it that started after this call. */
  settle(key: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const list = this.#waiting.get(key) ?? [];
      list.push({ resolve, reject });
      this.#waiting.set(key, list);
      this.add(key);
    });
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    for (const t of this.#timers.values()) clearTimeout(t);
    this.#timers.clear();
    this.#dirty.clear();
    while (this.#running.size > 0) await Promise.allSettled([...this.#running.values()]);
  }

  async #run(key: string): Promise<void> {
    await Promise.resolve(); // let add() return first
    const waiters = this.#waiting.get(key) ?? [];
    this.#waiting.delete(key);
    try {
      await this.#o.reconcile(key);
      this.#backoff.delete(key);
      for (const w of waiters) w.resolve();
    } catch (err) {
      for (const w of waiters) w.reject(err);
      const prev = this.#backoff.get(key);
      const delay =
        prev === undefined
          ? (this.#o.initialBackoffMs ?? 200)
          : Math.min(prev * 2, this.#o.maxBackoffMs ?? 30_000);
      this.#backoff.set(key, delay);
      try {
        this.#o.onError(key, err);
      } catch {
        // a broken logger must not stop the queue
      }
      if (!this.#stopped) {
        this.#timers.set(
          key,
          setTimeout(() => {
            this.#timers.delete(key);
            this.add(key);
          }, delay),
        );
      }
    } finally {
      this.#running.delete(key);
      if (this.#dirty.delete(key) || this.#waiting.has(key)) this.add(key);
    }
  }
}
