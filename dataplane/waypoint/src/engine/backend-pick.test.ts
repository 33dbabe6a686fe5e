import type { DestinationPolicy, TrafficPolicy } from '@ambit/config';
import { describe, expect, it } from 'vitest';
import { INITIAL_LB_STATE, pickBackend, pickEndpoint, resolveBackend, type LbState } from './backend-pick.ts';
import { backend, endpoint, rule, thrownCode } from './testing/builders.ts';
import { fixedDraws, mulberry32 } from './testing/mulberry32.ts';

const v1 = backend({ subset: 'v1', weight: 90 });
const v2 = backend({ subset: 'v2', weight: 10 });

describe('pickBackend', () => {
  it.each([
    [0, 'v1'],
    [0.8999, 'v1'],
    [0.9, 'v2'],
    [0.99999, 'v2'],
  ])('draw %s → %s', (draw, subset) => {
    expect(pickBackend(rule('r', { backends: [v1, v2] }), () => draw)?.subset).toBe(subset);
  });

  it('skips weight-0 backends', () => {
    const off = backend({ subset: 'off', weight: 0 });
    for (const draw of [0, 0.5, 0.999]) {
      expect(pickBackend(rule('r', { backends: [off, v2, off] }), () => draw)).toBe(v2);
    }
  });

  it('answers undefined (500) when every weight is 0 or there are no backends', () => {
    expect(pickBackend(rule('r', { backends: [backend({ weight: 0 })] }), () => 0.5)).toBeUndefined();
    expect(pickBackend(rule('r', { backends: [] }), () => 0.5)).toBeUndefined();
  });

  it('keeps a 90/10 split within ±3 points over 2,000 picks', () => {
    const rand = mulberry32(6);
    let toV2 = 0;
    for (let i = 0; i < 2000; i++) if (pickBackend(rule('r', { backends: [v1, v2] }), rand) === v2) toV2++;
    expect(Math.abs((100 * toV2) / 2000 - 10)).toBeLessThanOrEqual(3);
  });
});

describe('resolveBackend', () => {
  const endpoints = [
    endpoint('a'),
    endpoint('b'),
    endpoint('c', { ready: false }),
    endpoint('d', { ports: { 8080: 8080 } }),
  ];
  const dr: DestinationPolicy = {
    id: 'default/reviews',
    service: 'default/reviews',
    trafficPolicy: { loadBalancer: 'ROUND_ROBIN', connectionPool: { maxConnections: 5 } },
    subsets: [
      { name: 'v1', workloads: ['a', 'c'] },
      { name: 'v2', workloads: ['b'], trafficPolicy: { loadBalancer: 'RANDOM' } },
    ],
    source: { group: 'networking.istio.io', kind: 'DestinationRule', namespace: 'default', name: 'reviews' },
  };
  const uids = (t: ReturnType<typeof resolveBackend>): string[] => t.endpoints.map((e) => e.workloadUid);

  it('keeps ready endpoints that serve the port, under the DestinationRule policy', () => {
    const t = resolveBackend(backend(), endpoints, dr);
    expect(uids(t)).toEqual(['a', 'b']);
    expect(t.trafficPolicy).toBe(dr.trafficPolicy);
  });

  it('restricts to the subset and layers its policy over the rule’s, field by field', () => {
    expect(uids(resolveBackend(v1, endpoints, dr))).toEqual(['a']);
    expect(resolveBackend(v2, endpoints, dr)).toEqual({
      endpoints: [endpoints[1]],
      trafficPolicy: { loadBalancer: 'RANDOM', connectionPool: { maxConnections: 5 } },
    });
  });

  it('works without a DestinationRule', () => {
    expect(resolveBackend(backend(), endpoints, undefined).trafficPolicy).toEqual({});
  });

  it('throws ERR_UNKNOWN_SUBSET for a subset the DestinationRule lacks', () => {
    for (const destination of [dr, undefined]) {
      expect(thrownCode(() => resolveBackend(backend({ subset: 'v9' }), endpoints, destination))).toBe(
        'ERR_UNKNOWN_SUBSET',
      );
    }
  });
});

describe('pickEndpoint', () => {
  const eps = ['a', 'b', 'c'].map((uid) => endpoint(uid));
  const rr: TrafficPolicy = { loadBalancer: 'ROUND_ROBIN' };
  const random: TrafficPolicy = { loadBalancer: 'RANDOM' };
  const least: TrafficPolicy = { loadBalancer: 'LEAST_REQUEST' };
  const state = (over: Partial<LbState> = {}): LbState => ({ ...INITIAL_LB_STATE, ...over });

  it('rotates ROUND_ROBIN from the cursor and returns the next cursor', () => {
    const seen: string[] = [];
    let cursor = 0;
    for (let i = 0; i < 4; i++) {
      const pick = pickEndpoint(eps, rr, state({ cursor }), () => 0);
      seen.push(pick?.endpoint.workloadUid ?? '-');
      cursor = pick?.cursor ?? cursor;
    }
    expect(seen).toEqual(['a', 'b', 'c', 'a']);
  });

  it('skips ejected endpoints, keeping the rotation', () => {
    const s = state({ cursor: 1, ejected: new Set(['b']) });
    expect(pickEndpoint(eps, rr, s, () => 0)).toEqual({ endpoint: eps[2], cursor: 3 });
  });

  it.each([rr, random, least])('gives undefined (503 UH) when all are ejected: %j', (policy) => {
    expect(pickEndpoint(eps, policy, state({ ejected: new Set(['a', 'b', 'c']) }), () => 0)).toBeUndefined();
    expect(pickEndpoint([], policy, state(), () => 0)).toBeUndefined();
  });

  it('avoids preferred-against hosts while another is usable, and falls back to them otherwise', () => {
    const avoid = { avoid: new Set(['a', 'b']) };
    for (const policy of [rr, random, least]) {
      expect(pickEndpoint(eps, policy, state(), () => 0, avoid)?.endpoint.workloadUid).toBe('c');
      const cEjected = state({ ejected: new Set(['c']) });
      expect(['a', 'b']).toContain(pickEndpoint(eps, policy, cEjected, () => 0, avoid)?.endpoint.workloadUid);
    }
  });

  it('draws RANDOM uniformly from the usable endpoints', () => {
    expect(pickEndpoint(eps, random, state(), () => 0.5)?.endpoint.workloadUid).toBe('b');
    expect(pickEndpoint(eps, random, state({ ejected: new Set(['a']) }), () => 0)?.endpoint.workloadUid).toBe(
      'b',
    );
  });

  it('spreads RANDOM evenly: each of 3 endpoints within 33 ± 4 % over 3,000 picks', () => {
    const rand = mulberry32(7);
    const counts = new Map<string, number>();
    for (let i = 0; i < 3000; i++) {
      const uid = pickEndpoint(eps, random, state(), rand)?.endpoint.workloadUid ?? '-';
      counts.set(uid, (counts.get(uid) ?? 0) + 1);
    }
    for (const uid of ['a', 'b', 'c'])
      expect(Math.abs((counts.get(uid) ?? 0) / 30 - 100 / 3)).toBeLessThan(4);
  });

  it('takes the less loaded of two distinct draws for LEAST_REQUEST', () => {
    const busyA = state({ inFlight: new Map([['a', 5]]) });
    // Draws: first index 0 (a), second index 0 of the remaining two → b.
    expect(pickEndpoint(eps, least, busyA, fixedDraws(0, 0))?.endpoint.workloadUid).toBe('b');
    // A tie keeps the first draw.
    expect(pickEndpoint(eps, least, state(), fixedDraws(0.99, 0))?.endpoint.workloadUid).toBe('c');
  });

  it('prefers idle endpoints under LEAST_REQUEST: the busy one gets under 10 % of 3,000 picks', () => {
    const rand = mulberry32(8);
    const s = state({
      inFlight: new Map([
        ['a', 10],
        ['b', 0],
        ['c', 1],
      ]),
    });
    let toBusy = 0;
    let toIdle = 0;
    for (let i = 0; i < 3000; i++) {
      const uid = pickEndpoint(eps, least, s, rand)?.endpoint.workloadUid;
      if (uid === 'a') toBusy++;
      if (uid === 'b') toIdle++;
    }
    // With distinct pairs the busiest endpoint always loses; the idlest wins both pairs it is in (2/3).
    expect(toBusy).toBe(0);
    expect(Math.abs(toIdle / 30 - 200 / 3)).toBeLessThan(4);
  });

  it('defaults to LEAST_REQUEST (Istio’s default)', () => {
    const busyA = state({ inFlight: new Map([['a', 5]]) });
    expect(pickEndpoint(eps, {}, busyA, fixedDraws(0, 0))?.endpoint.workloadUid).toBe('b');
  });
});
