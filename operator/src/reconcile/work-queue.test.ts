import { describe, expect, it } from 'vitest';
import { TerminalError, WorkQueue } from './work-queue.ts';

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

describe('WorkQueue', () => {
  it('coalesces a key added many times before it runs', async () => {
    const runs: string[] = [];
    const q = new WorkQueue<string>({ reconcile: (k) => Promise.resolve(void runs.push(k)) });
    for (let i = 0; i < 5; i++) q.add('a');
    q.add('b');
    await q.idle();
    expect(runs).toEqual(['a', 'b']);
  });

  it('runs a key again when it is added while being reconciled, never twice at once', async () => {
    let concurrent = 0;
    let maxConcurrent = 0;
    let runs = 0;
    const gate = deferred();
    const q = new WorkQueue<string>({
      reconcile: async () => {
        concurrent++;
        maxConcurrent = Math.max(maxConcurrent, concurrent);
        runs++;
        if (runs === 1) await gate.promise;
        concurrent--;
      },
    });
    q.add('a');
    await Promise.resolve();
    q.add('a');
    q.add('a');
    gate.resolve();
    await q.idle();
    await q.idle();
    expect(runs).toBe(2);
    expect(maxConcurrent).toBe(1);
  });

  it('retries a failing key with growing backoff until it succeeds', async () => {
    let attempts = 0;
    const done = deferred();
    const q = new WorkQueue<string>({
      baseDelayMs: 5,
      reconcile: async () => {
        await Promise.resolve();
        attempts++;
        if (attempts < 3) throw new Error('conflict');
        done.resolve();
      },
    });
    q.add('a');
    await done.promise;
    expect(attempts).toBe(3);
    expect([1, 2, 3, 10].map((n) => q.backoffMs(n))).toEqual([5, 10, 20, 2560]);
  });

  it('caps the backoff', () => {
    const q = new WorkQueue<string>({
      reconcile: () => Promise.resolve(),
      baseDelayMs: 100,
      maxDelayMs: 1000,
    });
    expect(q.backoffMs(30)).toBe(1000);
  });

  it('does not retry a terminal error, and logs it', async () => {
    let attempts = 0;
    const lines: string[] = [];
    const q = new WorkQueue<string>({
      baseDelayMs: 1,
      log: (l) => lines.push(l),
      reconcile: async () => {
        await Promise.resolve();
        attempts++;
        throw new TerminalError('spec.trustDomain is empty');
      },
    });
    q.add('a');
    await q.idle();
    await new Promise((r) => setTimeout(r, 20));
    expect(attempts).toBe(1);
    expect(lines.join('\n')).toContain('spec.trustDomain is empty');
  });

  it('honours requeueAfter', async () => {
    let runs = 0;
    const twice = deferred();
    const q = new WorkQueue<string>({
      reconcile: async () => {
        await Promise.resolve();
        runs++;
        if (runs === 2) twice.resolve();
        return runs === 1 ? { requeueAfter: 5 } : {};
      },
    });
    q.add('a');
    await twice.promise;
    expect(runs).toBe(2);
  });

  it('drops everything on stop', async () => {
    let runs = 0;
    const q = new WorkQueue<string>({ reconcile: () => Promise.resolve(void runs++) });
    q.stop();
    q.add('a');
    q.addAfter('b', 1);
    await new Promise((r) => setTimeout(r, 10));
    expect(runs).toBe(0);
  });
});
