import type { RetryPolicy } from '@ambit/config';
import { describe, expect, it } from 'vitest';
import { INITIAL_LB_STATE, pickEndpoint } from './backend-pick.ts';
import { nextEndpointPreference, retryBackoffMs, shouldRetry, type TryOutcome } from './retry-policy.ts';
import { endpoint } from './testing/builders.ts';
import { mulberry32 } from './testing/mulberry32.ts';

const policy = (retryOn: string[], over: Partial<RetryPolicy> = {}): RetryPolicy => ({
  attempts: 3,
  retryOn,
  retriableStatusCodes: [],
  ...over,
});

describe('shouldRetry', () => {
  const reset: TryOutcome = { reset: true };
  const connect: TryOutcome = { connectFailure: true };
  const refused: TryOutcome = { refusedStream: true };
  it.each<[string, TryOutcome, boolean]>([
    ['5xx', { status: 500 }, true],
    ['5xx', { status: 503 }, true],
    ['5xx', { status: 404 }, false],
    ['5xx', reset, true],
    ['5xx', connect, true],
    ['gateway-error', { status: 502 }, true],
    ['gateway-error', { status: 503 }, true],
    ['gateway-error', { status: 504 }, true],
    ['gateway-error', { status: 500 }, false],
    ['gateway-error', reset, true],
    ['reset', reset, true],
    ['reset', connect, true],
    ['reset', { status: 503 }, false],
    ['connect-failure', connect, true],
    ['connect-failure', reset, false],
    ['connect-failure', { status: 503 }, false],
    ['refused-stream', refused, true],
    ['refused-stream', reset, false],
    ['retriable-4xx', { status: 409 }, true],
    ['retriable-4xx', { status: 429 }, false],
    ['unavailable', { status: 200, grpcStatus: 14 }, true],
    ['unavailable', { status: 200, grpcStatus: 13 }, false],
    ['cancelled', { status: 200, grpcStatus: 1 }, true],
    ['no-such-condition', { status: 503 }, false],
  ])('%s covers %j: %s', (condition, outcome, retry) => {
    expect(shouldRetry(policy([condition]), 1, outcome).retry).toBe(retry);
  });

  it('retries listed status codes only with retriable-status-codes (Envoy)', () => {
    const codes = { retriableStatusCodes: [429] };
    expect(shouldRetry(policy(['retriable-status-codes'], codes), 1, { status: 429 }).retry).toBe(true);
    expect(shouldRetry(policy(['retriable-status-codes'], codes), 1, { status: 503 }).retry).toBe(false);
    expect(shouldRetry(policy(['reset'], codes), 1, { status: 429 }).retry).toBe(false);
  });

  it('allows `attempts` retries after the first try, then reports exhaustion (URX)', () => {
    const p = policy(['5xx']);
    expect([1, 2, 3, 4].map((attempt) => shouldRetry(p, attempt, { status: 503 }))).toEqual([
      { retry: true },
      { retry: true },
      { retry: true },
      { retry: false, reason: 'retries-exhausted' },
    ]);
    expect(shouldRetry(policy(['5xx'], { attempts: 0 }), 1, { status: 503 })).toEqual({
      retry: false,
      reason: 'retries-exhausted',
    });
  });

  it('never retries a success, nor without a policy', () => {
    expect(shouldRetry(policy(['5xx']), 1, { status: 200 })).toEqual({
      retry: false,
      reason: 'not-retriable',
    });
    expect(shouldRetry(undefined, 1, { status: 503 })).toEqual({ retry: false, reason: 'not-retriable' });
  });
});

describe('retries across endpoints (DESIGN §8 retries acceptance)', () => {
  // Two endpoints, one failing 50 % with 503; attempts 3 on gateway-error, as the acceptance describes.
  const eps = [endpoint('flaky'), endpoint('good')];
  const p = policy(['gateway-error', 'connect-failure', 'refused-stream']);

  function serve(rand: () => number): { ok: boolean; hosts: string[] } {
    const hosts: string[] = [];
    for (let attempt = 1; ; attempt++) {
      const pick = pickEndpoint(eps, {}, INITIAL_LB_STATE, rand, nextEndpointPreference(hosts));
      if (!pick) return { ok: false, hosts };
      const uid = pick.endpoint.workloadUid;
      hosts.push(uid);
      const status = uid === 'flaky' && rand() < 0.5 ? 503 : 200;
      if (status === 200) return { ok: true, hosts };
      if (!shouldRetry(p, attempt, { status }).retry) return { ok: false, hosts };
    }
  }

  it('sends each retry to a host not yet tried, and ≥ 99 % of 2,000 requests succeed', () => {
    const rand = mulberry32(61);
    let ok = 0;
    let retried = 0;
    for (let i = 0; i < 2000; i++) {
      const r = serve(rand);
      if (r.ok) ok++;
      if (r.hosts.length > 1) {
        retried++;
        expect(r.hosts[1]).not.toBe(r.hosts[0]);
      }
    }
    expect(ok / 2000).toBeGreaterThanOrEqual(0.99);
    // About a quarter of requests hit the flaky host and fail there first.
    expect(Math.abs(retried / 20 - 25)).toBeLessThan(4);
  });

  it('falls back to a tried host when it is the only one left', () => {
    const pick = pickEndpoint(
      [endpoint('only')],
      {},
      INITIAL_LB_STATE,
      () => 0,
      nextEndpointPreference(['only']),
    );
    expect(pick?.endpoint.workloadUid).toBe('only');
  });
});

describe('retryBackoffMs', () => {
  it.each([
    [1, 25],
    [2, 75],
    [3, 175],
    [4, 250],
    [9, 250],
  ])('retry %i waits under %i ms', (retry, ceiling) => {
    expect(retryBackoffMs(retry, () => 0)).toBe(0);
    expect(retryBackoffMs(retry, () => 0.99999)).toBe(ceiling - 1);
  });
});
