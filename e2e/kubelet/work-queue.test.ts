// Unit tests: the per-key work queue (dedup, one call per key at a time, requeue, error back-off, stop).
import { describe, expect, it, vi } from 'vitest';
import { WorkQueue, type ReconcileResult } from './work-queue.ts';

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve = (): void => undefined;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

describe('WorkQueue', () => {
  it('collapses adds before a call and runs once more for adds during it', async () => {
    const calls: string[] = [];
    const gate = deferred();
    const q = new WorkQueue({
      reconcile: async (key) => {
        calls.push(key);
        if (calls.length === 1) await gate.promise;
        return undefined;
      },
      onError: () => undefined,
    });
    q.add('a');
    q.add('a');
    await vi.waitFor(() => expect(calls).toEqual(['a']));
    q.add('a');
    q.add('a');
    q.add('b');
    await vi.waitFor(() => expect(calls).toEqual(['a', 'b']));
    gate.resolve();
    await vi.waitFor(() => expect(calls).toEqual(['a', 'b', 'a']));
    await q.stop();
    expect(calls).toEqual(['a', 'b', 'a']);
  });

  it('never runs one key concurrently', async () => {
    let inFlight = 0;
    let most = 0;
    let calls = 0;
    const q = new WorkQueue({
      reconcile: async () => {
        inFlight++;
        most = Math.max(most, inFlight);
        calls++;
        await new Promise((r) => setTimeout(r, 5));
        inFlight--;
        return undefined;
      },
      onError: () => undefined,
    });
    for (let i = 0; i < 20; i++) {
      q.add('k');
      await new Promise((r) => setTimeout(r, 1));
    }
    await vi.waitFor(() => expect(inFlight).toBe(0));
    await q.stop();
    expect(most).toBe(1);
    expect(calls).toBeLessThan(20);
  });

  it('requeues after the asked delay and retries errors with back-off', async () => {
    const times: number[] = [];
    const errors: string[] = [];
    const t0 = Date.now();
    const q = new WorkQueue({
      reconcile: (): Promise<ReconcileResult | undefined> => {
        times.push(Date.now() - t0);
        if (times.length === 1) return Promise.resolve({ requeueAfterMs: 50 });
        if (times.length <= 3) return Promise.reject(new Error(`boom ${times.length}`));
        return Promise.resolve(undefined);
      },
      onError: (key, err) => errors.push(`${key}: ${(err as Error).message}`),
      errorBackoff: { initialMs: 20, maxMs: 1_000, resetAfterMs: 1_000 },
    });
    q.add('pod');
    await vi.waitFor(() => expect(times).toHaveLength(4));
    await q.stop();
    expect(errors).toEqual(['pod: boom 2', 'pod: boom 3']);
    const [t1 = 0, t2 = 0, t3 = 0, t4 = 0] = times;
    expect(t2 - t1).toBeGreaterThanOrEqual(45);
    expect(t3 - t2).toBeGreaterThanOrEqual(15);
    expect(t4 - t3).toBeGreaterThanOrEqual(35);
  });

  it('starts nothing after stop and waits for running calls', async () => {
    const gate = deferred();
    let done = false;
    let calls = 0;
    const q = new WorkQueue({
      reconcile: async () => {
        calls++;
        await gate.promise;
        done = true;
        return { requeueAfterMs: 1 };
      },
      onError: () => undefined,
    });
    q.add('a');
    await vi.waitFor(() => expect(q.busy).toBe(1));
    const stopped = q.stop();
    q.add('b');
    gate.resolve();
    await stopped;
    expect(done).toBe(true);
    expect(calls).toBe(1);
    expect(q.busy).toBe(0);
  });
});
