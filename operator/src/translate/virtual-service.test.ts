// VirtualService → route tables: golden YAML pairs for whole objects, targeted asserts for each rule of Istio's.
import type { VirtualService } from '@ambit/codegen/crds';
import { describe, expect, it } from 'vitest';
import { Reason } from './status.ts';
import { bookinfoCluster, expectGolden, goldenCases, readInput } from './testing/istio-networking.ts';
import {
  parseDurationMs,
  parseServiceHost,
  serviceByHostIn,
  translateVirtualService,
  type VirtualServiceContext,
} from './virtual-service.ts';

const cluster = bookinfoCluster();
const ctx: VirtualServiceContext = cluster;
type Spec = NonNullable<VirtualService['spec']>;
type HttpRoute = NonNullable<Spec['http']>[number];

function vs(spec: Spec, namespace = 'default'): VirtualService {
  return {
    apiVersion: 'networking.istio.io/v1',
    kind: 'VirtualService',
    metadata: { name: 'vs', namespace },
    spec,
  };
}

/** The rules of the only table of a VirtualService for reviews with these http routes. */
function rules(...http: HttpRoute[]) {
  const t = translateVirtualService(vs({ hosts: ['reviews'], http }), ctx);
  expect(t.tables).toHaveLength(1);
  return t.tables[0]?.rules ?? [];
}

const toReviews = (subset?: string) => ({ destination: { host: 'reviews', ...(subset ? { subset } : {}) } });

describe('VirtualService goldens', () => {
  it.each(goldenCases('virtual-service'))('%s', (name) => {
    const objects = readInput<VirtualService>('virtual-service', name);
    expectGolden(
      'virtual-service',
      name,
      objects.map((o) => translateVirtualService(o, ctx)),
    );
  });
});

describe('host resolution', () => {
  it.each<[string, string, string | undefined]>([
    ['reviews', 'default', 'default/reviews'],
    ['reviews', 'staging', 'staging/reviews'],
    ['reviews.staging', 'default', 'staging/reviews'],
    ['reviews.staging.svc', 'default', 'staging/reviews'],
    ['reviews.staging.svc.cluster.local', 'default', 'staging/reviews'],
    ['Reviews.Default.svc.cluster.local', 'staging', 'default/reviews'],
    ['reviews.default.svc.other.domain', 'default', undefined],
    ['reviews.example.com', 'default', undefined],
    ['productpage', 'staging', undefined],
  ])('%s from namespace %s names %s', (host, namespace, want) => {
    const svc = cluster.serviceByHost(host, namespace);
    expect(svc && `${svc.namespace}/${svc.name}`).toBe(want);
  });

  it('reads a short name relative to the VirtualService, not the destination', () => {
    const t = translateVirtualService(
      vs({ hosts: ['reviews'], http: [{ route: [toReviews()] }] }, 'staging'),
      ctx,
    );
    expect(t.tables.map((x) => x.id)).toEqual(['staging/reviews']);
    expect(t.tables[0]?.rules[0]?.backends[0]?.service).toBe('staging/reviews');
  });

  it('makes one table per Service, however many hosts name it', () => {
    const hosts = ['reviews', 'reviews.default', 'reviews.default.svc.cluster.local', 'reviews.staging'];
    const t = translateVirtualService(vs({ hosts, http: [{ route: [toReviews()] }] }), ctx);
    expect(t.tables.map((x) => x.id)).toEqual(['default/reviews', 'staging/reviews']);
  });

  it('parses the host forms without a lookup', () => {
    expect(parseServiceHost('a.b.c', 'ns', 'cluster.local')).toBeUndefined();
    expect(serviceByHostIn([], 'cluster.local')('reviews', 'default')).toBeUndefined();
  });
});

describe('destinations', () => {
  it('gives a single destination all traffic, whatever its weight', () => {
    const [rule] = rules({ route: [{ ...toReviews('v1'), weight: 0 }] });
    expect(rule?.backends).toEqual([{ service: 'default/reviews', port: 9080, subset: 'v1', weight: 100 }]);
  });

  it('keeps several weights as given; an unset one is 0', () => {
    const [rule] = rules({ route: [{ ...toReviews('v1'), weight: 3 }, toReviews('v2')] });
    expect(rule?.backends.map((b) => b.weight)).toEqual([3, 0]);
  });

  it('takes the port the request came to when the Service has several and the destination names none', () => {
    const t = translateVirtualService(
      vs({ hosts: ['httpbin'], http: [{ route: [{ destination: { host: 'httpbin' } }] }] }),
      ctx,
    );
    expect(t.tables[0]?.rules.map((r) => [r.matches[0]?.port, r.backends[0]?.port])).toEqual([
      [8000, 8000],
      [8080, 8080],
    ]);
  });

  it('refuses negative weights and several weights that are all 0', () => {
    const t = translateVirtualService(
      vs({
        hosts: ['reviews'],
        http: [
          {
            route: [
              { ...toReviews('v1'), weight: -1 },
              { ...toReviews('v2'), weight: 1 },
            ],
          },
          { route: [toReviews('v1'), toReviews('v2')] },
        ],
      }),
      ctx,
    );
    expect(t.tables).toEqual([]);
    expect(t.status.conditions[0]?.reason).toBe(Reason.Invalid);
    expect(t.status.conditions[0]?.message).toContain('spec.http[0].route[0].weight');
    expect(t.status.conditions[0]?.message).toContain('spec.http[1].route: the weights');
  });
});

describe('actions', () => {
  it('keeps the matches of a rule it cannot carry out, with no backend, so they answer 500', () => {
    const [rule] = rules({
      match: [{ uri: { prefix: '/old' } }],
      redirect: { uri: '/new', redirectCode: 300 },
    });
    expect(rule).toMatchObject({ matches: [{ path: { prefix: '/old' } }], backends: [] });
    expect(rule?.redirect).toBeUndefined();
  });

  it('refuses a rule with both a route and a redirect', () => {
    const t = translateVirtualService(
      vs({ hosts: ['reviews'], http: [{ route: [toReviews()], redirect: { uri: '/x' } }] }),
      ctx,
    );
    expect(t.status.conditions[0]?.message).toBe(
      'spec.http[0]: needs exactly one of route, redirect, directResponse, delegate (got 2)',
    );
  });
});

describe('percentages', () => {
  it('mirrors 100 % when no percentage is given', () => {
    const [rule] = rules({
      route: [toReviews()],
      mirror: { host: 'ratings' },
      mirrors: [{ destination: { host: 'details' } }],
    });
    expect(rule?.mirrors.map((m) => [m.backend.service, m.percent])).toEqual([
      ['default/ratings', 100],
      ['default/details', 100],
    ]);
  });

  it('takes the deprecated integer mirror percent when the double one is absent', () => {
    const [rule] = rules({ route: [toReviews()], mirror: { host: 'ratings' }, mirrorPercent: 30 });
    expect(rule?.mirrors[0]?.percent).toBe(30);
  });

  it('injects faults into no request when no percentage is given (Istio: "no request will be aborted")', () => {
    const [rule] = rules({
      route: [toReviews()],
      fault: { abort: { httpStatus: 503 }, delay: { fixedDelay: '1s' } },
    });
    expect(rule?.fault).toEqual({ delay: { ms: 1000, percent: 0 }, abort: { status: 503, percent: 0 } });
  });

  it('refuses a percentage outside 0–100', () => {
    const t = translateVirtualService(
      vs({
        hosts: ['reviews'],
        http: [{ route: [toReviews()], fault: { abort: { httpStatus: 503, percentage: { value: 101 } } } }],
      }),
      ctx,
    );
    expect(t.status.conditions[0]?.message).toBe(
      'spec.http[0].fault.abort.percentage: must be from 0 to 100 (got 101)',
    );
  });
});

describe('retries', () => {
  it('fills in Istio default conditions when retryOn is not given', () => {
    const [rule] = rules({ route: [toReviews()], retries: { attempts: 4 } });
    expect(rule?.retry).toEqual({
      attempts: 4,
      retryOn: ['connect-failure', 'refused-stream', 'unavailable', 'cancelled', 'retriable-status-codes'],
      retriableStatusCodes: [503],
    });
  });

  it('leaves retries to the waypoint default when the route sets none', () => {
    expect(rules({ route: [toReviews()] })[0]?.retry).toBeUndefined();
  });
});

describe('matches', () => {
  it('leaves out a match entry the waypoint cannot check, and a rule left with none', () => {
    const t = translateVirtualService(
      vs({
        hosts: ['reviews'],
        http: [
          { match: [{ sourceNamespace: 'frontend' }], route: [toReviews('v2')] },
          {
            match: [{ ignoreUriCase: true, uri: { prefix: '/A' } }, { uri: { prefix: '/b' } }],
            route: [toReviews('v3')],
          },
          { route: [toReviews('v1')] },
        ],
      }),
      ctx,
    );
    const table = t.tables[0];
    expect(table?.rules.map((r) => r.name)).toEqual([
      'VirtualService/default/vs#1',
      'VirtualService/default/vs#2',
    ]);
    expect(table?.rules[0]?.matches).toEqual([{ path: { prefix: '/b' }, headers: [], queryParams: [] }]);
    expect(t.status.conditions[0]).toMatchObject({ status: 'True', reason: Reason.UnsupportedValue });
    expect(t.status.conditions[0]?.message).toContain('spec.http[0].match[0].sourceNamespace');
    expect(t.status.conditions[0]?.message).toContain('spec.http[1].match[0].ignoreUriCase');
  });

  it('says nothing is enforced when every rule was left out', () => {
    const t = translateVirtualService(
      vs({
        hosts: ['reviews'],
        http: [{ match: [{ method: { regex: 'GET|HEAD' } }], route: [toReviews()] }],
      }),
      ctx,
    );
    expect(t.tables).toEqual([]);
    expect(t.status.conditions[0]).toEqual({
      type: 'Accepted',
      status: 'False',
      reason: Reason.UnsupportedValue,
      message:
        'nothing of it is enforced: spec.http[0].match[0].method: only exact method matches are supported; this match entry is left out',
    });
  });

  it('reads headers case-insensitively and regex "*" as present', () => {
    const [rule] = rules({
      match: [{ headers: { 'X-User': { regex: '*' } }, withoutHeaders: { 'x-b': { prefix: 'q' } } }],
      route: [toReviews()],
    });
    expect(rule?.matches[0]?.headers).toEqual([
      { name: 'x-user', invert: false },
      { name: 'x-b', value: { prefix: 'q' }, invert: true },
    ]);
  });
});

describe('durations', () => {
  it.each<[string, number | undefined]>([
    ['1s', 1000],
    ['100ms', 100],
    ['1.1s', 1100],
    ['1m30s', 90_000],
    ['1h', 3_600_000],
    ['250us', 0.25],
    ['0s', 0],
    ['1', undefined],
    ['1 s', undefined],
    ['-1s', undefined],
    ['', undefined],
  ])('%s is %s ms', (text, ms) => {
    expect(parseDurationMs(text)).toBe(ms);
  });
});
