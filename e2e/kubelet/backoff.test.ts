// Unit tests: crash-loop back-off as the kubelet applies it.
import { describe, expect, it } from 'vitest';
import { CRASH_BACKOFF, nextBackoff, restartDecision } from './backoff.ts';

describe('restartDecision', () => {
  it('restarts at once after the first crash, then waits 1 s, 2 s, 4 s … up to 30 s', () => {
    let backoff: number | undefined;
    let t = 0;
    const waits: number[] = [];
    for (let crash = 0; crash < 8; crash++) {
      const finishedAt = t;
      const d = restartDecision(CRASH_BACKOFF, backoff, 100, finishedAt, t);
      if (!d.start) {
        waits.push(d.retryAt - finishedAt);
        t = d.retryAt;
      } else {
        waits.push(0);
      }
      const started = restartDecision(CRASH_BACKOFF, backoff, 100, finishedAt, t);
      expect(started.start).toBe(true);
      backoff = started.backoffMs;
      t += 100;
    }
    expect(waits).toEqual([0, 1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000]);
  });

  it('forgets the back-off after a long run', () => {
    expect(restartDecision(CRASH_BACKOFF, 30_000, 60_000, 0, 0)).toEqual({ start: true, backoffMs: 1_000 });
  });

  it('caps at maxMs', () => {
    expect(nextBackoff(CRASH_BACKOFF, 20_000)).toBe(30_000);
    expect(nextBackoff(CRASH_BACKOFF, undefined)).toBe(1_000);
  });
});
