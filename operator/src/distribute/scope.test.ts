import { EMPTY_MATCH, type Authorization, type Workload } from '@ambit/config';
import { describe, expect, it } from 'vitest';
import { diffConfig, EMPTY_CONFIG, isEmptyDelta, plainEqual } from './delta.ts';
import { waypointScope, ztunnelScope, type FullConfig } from './scope.ts';

function workload(
  uid: string,
  node: string,
  namespace: string,
  policies: string[] = [],
  protocol: Workload['protocol'] = 'HBONE',
): Workload {
  return {
    uid,
    name: uid,
    namespace,
    addresses: ['10.0.0.1'],
    node,
    serviceAccount: 'default',
    trustDomain: 'cluster.local',
    canonicalName: uid,
    canonicalRevision: 'latest',
    workloadName: uid,
    protocol,
    mtls: { mode: 'PERMISSIVE', ports: {} },
    authorizationPolicies: policies,
    ready: true,
    source: { group: '', kind: 'Pod', namespace, name: uid },
  };
}

function policy(id: string, scope: Authorization['scope']): Authorization {
  const [namespace, name] = id.split('/') as [string, string];
  return {
    id,
    name,
    namespace,
    scope,
    action: 'Allow',
    rules: [{ allOf: [{ matches: [EMPTY_MATCH] }] }],
    source: { group: 'security.istio.io', kind: 'AuthorizationPolicy', namespace, name },
  };
}

const config: FullConfig = {
  workloads: new Map([
    ['a', workload('a', 'n1', 'shop', ['shop/sel'])],
    ['b', workload('b', 'n2', 'bank')],
    ['c', workload('c', 'n1', 'bank', [], 'NONE')],
  ]),
  services: new Map(),
  authorizations: new Map([
    ['istio-system/global', policy('istio-system/global', 'Global')],
    ['shop/ns', policy('shop/ns', 'Namespace')],
    ['bank/ns', policy('bank/ns', 'Namespace')],
    ['shop/sel', policy('shop/sel', 'WorkloadSelector')],
    ['shop/other', policy('shop/other', 'WorkloadSelector')],
  ]),
};

describe('ztunnelScope', () => {
  it('sends every workload but only the policies of enrolled workloads on the node', () => {
    const n1 = ztunnelScope(config, 'n1');
    expect([...n1.workloads.keys()]).toEqual(['a', 'b', 'c']);
    expect([...n1.authorizations.keys()].sort()).toEqual(['istio-system/global', 'shop/ns', 'shop/sel']);
    expect([...ztunnelScope(config, 'n2').authorizations.keys()].sort()).toEqual([
      'bank/ns',
      'istio-system/global',
    ]);
    expect(ztunnelScope(config, 'n3').authorizations.size).toBe(0);
  });
});

describe('diffConfig', () => {
  it('reports a first snapshot as all changed, an identical one as empty, and removals', () => {
    const n1 = ztunnelScope(config, 'n1');
    const first = diffConfig(EMPTY_CONFIG, n1);
    expect(first.workloads.changed).toEqual(['a', 'b', 'c']);
    expect(isEmptyDelta(diffConfig(n1, ztunnelScope(config, 'n1')))).toBe(true);
    const moved: FullConfig = {
      ...config,
      workloads: new Map([['a', { ...workload('a', 'n1', 'shop', ['shop/sel']), ready: false }]]),
    };
    const d = diffConfig(n1, ztunnelScope(moved, 'n1'));
    expect(d.workloads).toEqual({ changed: ['a'], removed: ['b', 'c'] });
    expect(d.authorizations).toEqual({ changed: [], removed: [] });
  });
});

describe('plainEqual', () => {
  it.each<[unknown, unknown, boolean]>([
    [{ a: [1, { b: 'x' }] }, { a: [1, { b: 'x' }] }, true],
    [{ a: 1 }, { a: 1, b: undefined }, false],
    [{ a: [1, 2] }, { a: [2, 1] }, false],
    [[1], { 0: 1 }, false],
    [{ a: null }, { a: null }, true],
    [{ a: null }, { a: {} }, false],
    ['1', 1, false],
  ])('%j vs %j -> %s', (a, b, expected) => {
    expect(plainEqual(a, b)).toBe(expected);
  });
});

describe('waypointScope', () => {
  it('sends a waypoint the services it fronts, their endpoints and the workloads bound to it, and no L4 policy', () => {
    const wp = { namespace: 'shop', name: 'waypoint' };
    const svc = (id: string, waypoint: typeof wp | undefined, endpoint: string) => ({
      id,
      name: id,
      namespace: 'shop',
      hostname: `${id}.shop.svc.cluster.local`,
      vips: ['10.96.0.1'],
      ports: [],
      ...(waypoint ? { waypoint } : {}),
      endpoints: [{ workloadUid: endpoint, ports: {}, ready: true }],
      source: { group: '', kind: 'Service', namespace: 'shop', name: id },
    });
    const bound = { ...workload('d', 'n1', 'shop'), waypoint: wp };
    const full: FullConfig = {
      ...config,
      workloads: new Map([...config.workloads, ['d', bound]]),
      services: new Map([
        ['shop/front', svc('shop/front', wp, 'a')],
        ['shop/other', svc('shop/other', undefined, 'b')],
      ]),
    };
    const scoped = waypointScope(full, wp);
    expect([...scoped.services.keys()]).toEqual(['shop/front']);
    expect([...scoped.workloads.keys()].sort()).toEqual(['a', 'd']);
    expect(scoped.authorizations.size).toBe(0);
  });

  it('adds the route tables of the fronted services, the services they route to, and their destination policies', () => {
    const wp = { namespace: 'shop', name: 'waypoint' };
    const svc = (id: string, waypoint: typeof wp | undefined, endpoint: string) => ({
      id,
      name: id.split('/')[1] ?? id,
      namespace: 'shop',
      hostname: `${id}.svc.cluster.local`,
      vips: ['10.96.0.1'],
      ports: [],
      ...(waypoint ? { waypoint } : {}),
      endpoints: [{ workloadUid: endpoint, ports: {}, ready: true }],
      source: { group: '', kind: 'Service', namespace: 'shop', name: id },
    });
    const table = {
      id: 'shop/front',
      service: 'shop/front',
      protocol: 'HTTP' as const,
      sources: [],
      rules: [
        {
          name: 'r',
          matches: [],
          backends: [{ service: 'shop/canary', port: 80, weight: 1 }],
          mirrors: [],
        },
      ],
    };
    const dp = (id: string) => ({
      id,
      service: id,
      trafficPolicy: {},
      subsets: [],
      source: { group: '', kind: 'DestinationRule', namespace: 'shop', name: id },
    });
    const full: FullConfig = {
      ...config,
      services: new Map([
        ['shop/front', svc('shop/front', wp, 'a')],
        ['shop/canary', svc('shop/canary', undefined, 'b')],
        ['shop/unrelated', svc('shop/unrelated', undefined, 'c')],
      ]),
      routeTables: new Map([['shop/front', table]]),
      destinationPolicies: new Map([
        ['shop/canary', dp('shop/canary')],
        ['shop/unrelated', dp('shop/unrelated')],
      ]),
    };
    const scoped = waypointScope(full, wp);
    expect([...scoped.services.keys()].sort()).toEqual(['shop/canary', 'shop/front']);
    expect([...scoped.workloads.keys()].sort()).toEqual(['a', 'b']);
    expect([...(scoped.routeTables?.keys() ?? [])]).toEqual(['shop/front']);
    expect([...(scoped.destinationPolicies?.keys() ?? [])]).toEqual(['shop/canary']);
    expect(diffConfig(EMPTY_CONFIG, scoped).routeTables.changed).toEqual(['shop/front']);
  });
});
