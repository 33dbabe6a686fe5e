// The whole translation on a bookinfo-like cluster: records, per-object status, Mesh warnings, last good config.
import { authorize, type Workload } from '@ambit/config';
import type {
  AuthorizationPolicy,
  Gateway,
  GRPCRoute,
  HTTPRoute,
  PeerAuthentication,
} from '@ambit/codegen/crds';
import type { V1EndpointSlice, V1Namespace, V1Pod, V1Service } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { gatewayScope, waypointScope, ztunnelScope } from '../distribute/scope.ts';
import { attachedRouteCounts, translateCluster, type ClusterSnapshot } from './cluster-config.ts';

const ns = (name: string, labels: Record<string, string> = {}): V1Namespace => ({
  metadata: { name, labels },
});

function pod(name: string, sa: string, ip: string, labels: Record<string, string>): V1Pod {
  return {
    metadata: { name, namespace: 'default', uid: `uid-${name}`, labels },
    spec: { containers: [], nodeName: 'node-a', serviceAccountName: sa },
    status: {
      phase: 'Running',
      podIP: ip,
      podIPs: [{ ip }],
      conditions: [{ type: 'Ready', status: 'True' }],
    },
  };
}

const service = (name: string, ip: string, labels?: Record<string, string>): V1Service => ({
  metadata: { name, namespace: 'default', labels },
  spec: { clusterIP: ip, clusterIPs: [ip], ports: [{ name: 'http', port: 9080 }] },
});

const slice = (svc: string, podName: string): V1EndpointSlice => ({
  metadata: { name: `${svc}-x`, namespace: 'default', labels: { 'kubernetes.io/service-name': svc } },
  addressType: 'IPv4',
  ports: [{ name: 'http', port: 9080 }],
  endpoints: [
    {
      addresses: ['x'],
      conditions: { ready: true },
      targetRef: { kind: 'Pod', uid: `uid-${podName}`, name: podName },
    },
  ],
});

function ap(
  name: string,
  spec: NonNullable<AuthorizationPolicy['spec']>,
  namespace = 'default',
): AuthorizationPolicy {
  return {
    apiVersion: 'security.istio.io/v1',
    kind: 'AuthorizationPolicy',
    metadata: { name, namespace },
    spec,
  };
}

const waypoint: Gateway = {
  apiVersion: 'gateway.networking.k8s.io/v1',
  kind: 'Gateway',
  metadata: { name: 'waypoint', namespace: 'default' },
  spec: { gatewayClassName: 'istio-waypoint', listeners: [{ name: 'mesh', port: 15008, protocol: 'HBONE' }] },
};

const strictMesh: PeerAuthentication = {
  apiVersion: 'security.istio.io/v1',
  kind: 'PeerAuthentication',
  metadata: { name: 'default', namespace: 'istio-system' },
  spec: { mtls: { mode: 'STRICT' } },
};

const sleepPrincipal = 'cluster.local/ns/default/sa/sleep';

function snapshot(policies: AuthorizationPolicy[]): ClusterSnapshot {
  return {
    mesh: { trustDomain: 'cluster.local', rootNamespace: 'istio-system', clusterDomain: 'cluster.local' },
    namespaces: [ns('default', { 'istio.io/dataplane-mode': 'ambient' }), ns('istio-system')],
    pods: [
      pod('productpage', 'bookinfo-productpage', '10.244.1.10', { app: 'productpage', version: 'v1' }),
      pod('sleep', 'sleep', '10.244.1.11', { app: 'sleep' }),
      pod('notsleep', 'notsleep', '10.244.1.12', { app: 'notsleep' }),
    ],
    services: [
      service('productpage', '10.96.0.20', { 'istio.io/use-waypoint': 'waypoint' }),
      service('sleep', '10.96.0.21'),
    ],
    endpointSlices: [slice('productpage', 'productpage'), slice('sleep', 'sleep')],
    gateways: [waypoint],
    authorizationPolicies: policies,
    peerAuthentications: [strictMesh],
  };
}

const l4Allow = ap('productpage-viewer', {
  selector: { matchLabels: { app: 'productpage' } },
  action: 'ALLOW',
  rules: [{ from: [{ source: { principals: [sleepPrincipal] } }] }],
});
const l7 = ap('productpage-l7', {
  targetRefs: [{ kind: 'Service', group: '', name: 'productpage' }],
  rules: [{ to: [{ operation: { methods: ['GET'] } }] }],
});
const custom = ap('ext', { action: 'CUSTOM', provider: { name: 'x' }, rules: [{}] });

function conditionsOf(config: ReturnType<typeof translateCluster>, name: string) {
  return config.statuses.find((s) => s.object.name === name)?.conditions;
}

function decide(config: ReturnType<typeof translateCluster>, dst: Workload, principal?: string) {
  const policies = [...config.authorizations.values()].filter(
    (a) =>
      a.scope === 'Global' ||
      (a.scope === 'Namespace' && a.namespace === dst.namespace) ||
      dst.authorizationPolicies.includes(a.id),
  );
  const peer = principal ? { principal, namespace: 'default' } : undefined;
  return authorize(
    policies,
    {
      sourceIp: '10.244.1.11',
      destinationIp: dst.addresses[0]!,
      destinationPort: 9080,
      ...(peer ? { peer } : {}),
    },
    dst.mtls,
  ).allowed;
}

describe('translateCluster', () => {
  const config = translateCluster(snapshot([l4Allow, l7, custom]));
  const productpage = config.workloads.get('uid-productpage')!;

  it('produces a workload per running pod, with selecting policies and the mesh-wide STRICT mode', () => {
    expect([...config.workloads.keys()].sort()).toEqual(['uid-notsleep', 'uid-productpage', 'uid-sleep']);
    expect(productpage.authorizationPolicies).toEqual(['default/productpage-viewer']);
    expect(productpage.mtls.mode).toBe('STRICT');
    expect(productpage.protocol).toBe('HBONE');
  });

  it('binds the labelled Service to the waypoint and lists its endpoints', () => {
    const svc = config.services.get('default/productpage')!;
    expect(svc.waypoint).toEqual({ namespace: 'default', name: 'waypoint' });
    expect(svc.endpoints).toEqual([{ workloadUid: 'uid-productpage', ports: { 9080: 9080 }, ready: true }]);
  });

  it('enforces the L4 policy at ztunnel: sleep in, notsleep and plaintext out', () => {
    expect(decide(config, productpage, sleepPrincipal)).toBe(true);
    expect(decide(config, productpage, 'cluster.local/ns/default/sa/notsleep')).toBe(false);
    expect(decide(config, productpage)).toBe(false);
  });

  it('says where each policy is enforced, and warns on the Mesh about what is not', () => {
    expect(conditionsOf(config, 'productpage-viewer')).toEqual([
      { type: 'ZtunnelAccepted', status: 'True', reason: 'Accepted', message: 'enforced by ztunnel' },
    ]);
    expect(conditionsOf(config, 'productpage-l7')).toEqual([
      {
        type: 'WaypointAccepted',
        status: 'True',
        reason: 'Accepted',
        message: 'enforced by waypoint default/waypoint',
      },
    ]);
    expect(conditionsOf(config, 'ext')?.[0]).toMatchObject({ status: 'False', reason: 'UnsupportedValue' });
    expect(config.warnings).toEqual([
      expect.objectContaining({
        kind: 'AuthorizationPolicy',
        namespace: 'default',
        name: 'ext',
        reason: 'UnsupportedValue',
      }),
    ]);
  });

  it('reports a targetRefs policy whose Service has no waypoint', () => {
    const noWaypoint = ap('sleep-l7', {
      targetRefs: [{ kind: 'Service', group: '', name: 'sleep' }],
      rules: [{}],
    });
    const c = translateCluster(snapshot([noWaypoint]));
    expect(conditionsOf(c, 'sleep-l7')?.[0]).toMatchObject({ status: 'False', reason: 'NoWaypoint' });
    expect(conditionsOf(c, 'sleep-l7')?.[0]?.message).toContain('Service default/sleep has no waypoint');
  });

  it('keeps the last good version of a policy that became invalid, and says so', () => {
    const broken = ap('productpage-viewer', {
      ...l4Allow.spec,
      rules: [{ to: [{ operation: { ports: ['http'] } }] }],
    });
    const next = translateCluster(snapshot([broken]), config);
    expect(next.authorizations.get('default/productpage-viewer')).toEqual(
      config.authorizations.get('default/productpage-viewer'),
    );
    const cond = conditionsOf(next, 'productpage-viewer')?.[0];
    expect(cond).toMatchObject({ type: 'Accepted', status: 'False', reason: 'Invalid' });
    expect(cond?.message).toContain('spec.rules[0].to[0].operation.ports[0]');
    expect(cond?.message).toContain('the previous version stays in force');
    const productpageNext = next.workloads.get('uid-productpage')!;
    expect(productpageNext.authorizationPolicies).toEqual(['default/productpage-viewer']);
    expect(decide(next, productpageNext, sleepPrincipal)).toBe(true);
    expect(decide(next, productpageNext, 'cluster.local/ns/default/sa/notsleep')).toBe(false);
    expect(next.warnings.map((w) => w.name)).toEqual(['productpage-viewer']);
  });

  it('enforces nothing of an invalid policy that never had a good version', () => {
    const broken = ap('new', { rules: [{ to: [{ operation: { ports: ['x'] } }] }] });
    const c = translateCluster(snapshot([broken]));
    expect(c.authorizations.has('default/new')).toBe(false);
    expect(conditionsOf(c, 'new')?.[0]?.message).toContain('nothing of it is enforced');
  });

  it('reuses the records of unchanged objects and recomputes when their inputs or the context change', () => {
    const snap = snapshot([l4Allow]);
    const first = translateCluster(snap);
    const same = translateCluster({ ...snap, pods: [...snap.pods] }, first);
    expect(same.workloads.get('uid-sleep')).toBe(first.workloads.get('uid-sleep'));
    expect(same.services.get('default/sleep')).toBe(first.services.get('default/sleep'));

    const pods = [...snap.pods];
    pods[1] = {
      ...pods[1]!,
      status: { ...pods[1]!.status, podIP: '10.244.1.99', podIPs: [{ ip: '10.244.1.99' }] },
    };
    const podChanged = translateCluster({ ...snap, pods }, same);
    expect(podChanged.workloads.get('uid-sleep')?.addresses).toEqual(['10.244.1.99']);
    expect(podChanged.workloads.get('uid-notsleep')).toBe(same.workloads.get('uid-notsleep'));

    // Un-labelling the namespace changes every pod's record, though no pod object changed.
    const unlabelled = translateCluster(
      { ...snap, pods, namespaces: [ns('default'), ns('istio-system')] },
      podChanged,
    );
    expect(unlabelled.workloads.get('uid-notsleep')?.protocol).toBe('NONE');
  });

  it('routes a Service at its waypoint: VirtualService rules, DestinationRule subsets resolved to workloads', () => {
    const base = snapshot([]);
    const routed = translateCluster({
      ...base,
      virtualServices: [
        {
          apiVersion: 'networking.istio.io/v1',
          kind: 'VirtualService',
          metadata: { name: 'productpage', namespace: 'default' },
          spec: {
            hosts: ['productpage'],
            http: [{ route: [{ destination: { host: 'productpage', subset: 'v1' } }] }],
          },
        },
      ],
      destinationRules: [
        {
          apiVersion: 'networking.istio.io/v1',
          kind: 'DestinationRule',
          metadata: { name: 'productpage', namespace: 'default' },
          spec: { host: 'productpage', subsets: [{ name: 'v1', labels: { version: 'v1' } }] },
        },
      ],
    });
    expect(routed.routeTables.get('default/productpage')?.rules[0]?.backends).toEqual([
      { service: 'default/productpage', port: 9080, subset: 'v1', weight: 100 },
    ]);
    expect(routed.destinationPolicies.get('default/productpage')?.subsets).toEqual([
      { name: 'v1', workloads: ['uid-productpage'] },
    ]);
    expect(conditionsOf(routed, 'productpage')?.map((c) => c.status)).toContain('True');
  });

  it('sends a targetRefs policy to the waypoint fronting its Service, never to a ztunnel', () => {
    const c = translateCluster(snapshot([l7]));
    expect([...c.waypointAuthorizations.keys()]).toEqual(['default/productpage-l7']);
    expect(c.authorizations.has('default/productpage-l7')).toBe(false);
    const scoped = waypointScope(c, { namespace: 'default', name: 'waypoint' });
    expect([...scoped.authorizations.keys()]).toEqual(['default/productpage-l7']);
    expect(ztunnelScope(c, 'node-a').authorizations.has('default/productpage-l7')).toBe(false);
  });

  it('attaches an HTTPRoute to the bookinfo ingress Gateway, counts it on the listener, and refuses another namespace', () => {
    const ingress: Gateway = {
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'Gateway',
      metadata: { name: 'bookinfo-gateway', namespace: 'default' },
      spec: {
        gatewayClassName: 'istio',
        listeners: [
          { name: 'http', port: 80, protocol: 'HTTP', allowedRoutes: { namespaces: { from: 'Same' } } },
        ],
      },
    };
    const route = (namespace: string, backend: string): HTTPRoute => ({
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'HTTPRoute',
      metadata: { name: 'bookinfo', namespace },
      spec: {
        parentRefs: [{ name: 'bookinfo-gateway', namespace: 'default' }],
        rules: [{ backendRefs: [{ name: backend, namespace: 'default', port: 9080 }] }],
      },
    });
    const c = translateCluster({
      ...snapshot([]),
      namespaces: [...snapshot([]).namespaces, ns('other')],
      gateways: [waypoint, ingress],
      httpRoutes: [route('default', 'productpage'), route('other', 'missing')],
    });
    const parentOf = (namespace: string) =>
      c.routeStatuses.find((s) => s.route.namespace === namespace)?.parents[0];
    const ok = parentOf('default')!;
    expect(ok.controller).toBe('gateway');
    expect(ok.conditions.map((x) => [x.type, x.status, x.reason])).toEqual([
      ['Accepted', 'True', 'Accepted'],
      ['ResolvedRefs', 'True', 'ResolvedRefs'],
    ]);
    const refused = parentOf('other')!;
    expect(refused.conditions.map((x) => [x.type, x.status, x.reason])).toEqual([
      ['Accepted', 'False', 'NotAllowedByListeners'],
      ['ResolvedRefs', 'False', 'RefNotPermitted'],
    ]);
    expect(attachedRouteCounts(c.routeStatuses)).toEqual(
      new Map([['default/bookinfo-gateway', new Map([['http', 1]])]]),
    );
  });

  it('builds one ingress table per Gateway listener port: host-specific rules first, 404 for what no route takes', () => {
    const ingress: Gateway = {
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'Gateway',
      metadata: { name: 'gw', namespace: 'default' },
      spec: {
        gatewayClassName: 'ambit',
        listeners: [
          { name: 'any', port: 80, protocol: 'HTTP' },
          { name: 'shop', port: 80, protocol: 'HTTP', hostname: '*.shop.example' },
        ],
      },
    };
    const route = (name: string, hostnames: string[], backend: string, created: string): HTTPRoute => ({
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'HTTPRoute',
      metadata: { name, namespace: 'default', creationTimestamp: created },
      spec: {
        parentRefs: [{ name: 'gw' }],
        hostnames,
        rules: [{ backendRefs: [{ name: backend, port: 9080 }] }],
      },
    });
    const c = translateCluster({
      ...snapshot([]),
      gateways: [waypoint, ingress],
      httpRoutes: [
        route('catch-all', [], 'productpage', '2026-01-01T00:00:00Z'),
        route('shop', ['www.shop.example'], 'sleep', '2026-02-01T00:00:00Z'),
      ],
    });
    const t = c.routeTables.get('gateway:default/gw:80')!;
    expect(t.gateway).toEqual({ gateway: 'default/gw', port: 80 });
    expect(t.service).toBe('');
    // The exact host beats the younger-is-later rule: www.shop.example first, then the any-host route; the
    // any-host route matches everything, so no 404 rule is added.
    expect(t.rules.map((r) => [r.name, r.matches[0]?.hosts, r.backends[0]?.service])).toEqual([
      ['HTTPRoute/default/shop#0.0', ['www.shop.example'], 'default/sleep'],
      ['HTTPRoute/default/catch-all#0.0', undefined, 'default/productpage'],
    ]);
    // The gateway gets its tables and what their rules reach; ingress tables never reach a waypoint.
    const mine = gatewayScope(c, { namespace: 'default', name: 'gw' });
    expect([...mine.routeTables!.keys()]).toEqual(['gateway:default/gw:80']);
    expect([...mine.services.keys()].sort()).toEqual(['default/productpage', 'default/sleep']);
    expect([...mine.workloads.keys()].sort()).toEqual(['uid-productpage', 'uid-sleep']);
    expect(gatewayScope(c, { namespace: 'default', name: 'other' }).routeTables!.size).toBe(0);
    expect([
      ...waypointScope(c, { namespace: 'default', name: 'waypoint' }).routeTables!.keys(),
    ]).not.toContain('gateway:default/gw:80');
    const onlyShop = translateCluster({
      ...snapshot([]),
      gateways: [waypoint, ingress],
      httpRoutes: [route('shop', ['www.shop.example'], 'sleep', '2026-02-01T00:00:00Z')],
    }).routeTables.get('gateway:default/gw:80')!;
    expect(onlyShop.rules.at(-1)).toMatchObject({
      name: 'Gateway/default/gw:80#unmatched',
      fault: { abort: { status: 404, percent: 100 } },
    });
  });

  it('enforces a targetRefs policy on an ingress Gateway at that gateway, and says so', () => {
    const ingress: Gateway = {
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'Gateway',
      metadata: { name: 'bookinfo-gateway', namespace: 'default' },
      spec: { gatewayClassName: 'istio', listeners: [{ name: 'http', port: 80, protocol: 'HTTP' }] },
    };
    const onGateway = ap('gateway-get-only', {
      targetRefs: [{ kind: 'Gateway', group: 'gateway.networking.k8s.io', name: 'bookinfo-gateway' }],
      rules: [{ to: [{ operation: { methods: ['GET'] } }] }],
    });
    const onNothing = ap('nowhere', {
      targetRefs: [{ kind: 'Gateway', group: 'gateway.networking.k8s.io', name: 'absent' }],
      rules: [{ to: [{ operation: { methods: ['GET'] } }] }],
    });
    const c = translateCluster({ ...snapshot([onGateway, onNothing]), gateways: [waypoint, ingress] });
    expect(conditionsOf(c, 'gateway-get-only')?.[0]).toMatchObject({
      status: 'True',
      message: 'enforced by gateway default/bookinfo-gateway',
    });
    expect(conditionsOf(c, 'nowhere')?.[0]?.status).toBe('False');
    expect([
      ...gatewayScope(c, { namespace: 'default', name: 'bookinfo-gateway' }).authorizations.keys(),
    ]).toEqual(['default/gateway-get-only']);
  });

  it('gives every ingress listener port a table (404 without routes) and one 404 after HTTPRoute and GRPCRoute rules', () => {
    const ingress: Gateway = {
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'Gateway',
      metadata: { name: 'gw', namespace: 'default' },
      spec: {
        gatewayClassName: 'istio',
        listeners: [
          { name: 'http', port: 80, protocol: 'HTTP' },
          { name: 'alt', port: 8080, protocol: 'HTTP' },
        ],
      },
    };
    const http: HTTPRoute = {
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'HTTPRoute',
      metadata: { name: 'web', namespace: 'default' },
      spec: {
        parentRefs: [{ name: 'gw', sectionName: 'http' }],
        rules: [
          {
            matches: [{ path: { type: 'PathPrefix', value: '/shop' } }],
            backendRefs: [{ name: 'productpage', port: 9080 }],
          },
        ],
      },
    };
    const grpc: GRPCRoute = {
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'GRPCRoute',
      metadata: { name: 'rpc', namespace: 'default' },
      spec: {
        parentRefs: [{ name: 'gw', sectionName: 'http' }],
        rules: [
          { matches: [{ method: { service: 'test.Echo' } }], backendRefs: [{ name: 'sleep', port: 9080 }] },
        ],
      },
    };
    const c = translateCluster({
      ...snapshot([]),
      gateways: [waypoint, ingress],
      httpRoutes: [http],
      grpcRoutes: [grpc],
    });
    const alt = c.routeTables.get('gateway:default/gw:8080')!;
    expect(alt.rules.map((r) => [r.name, r.fault?.abort?.status])).toEqual([
      ['Gateway/default/gw:8080#unmatched', 404],
    ]);
    const main = c.routeTables.get('gateway:default/gw:80')!;
    const names = main.rules.map((r) => r.name);
    expect(names.filter((n) => n.endsWith('#unmatched'))).toEqual(['Gateway/default/gw:80#unmatched']);
    expect(names.at(-1)).toBe('Gateway/default/gw:80#unmatched');
    expect(names).toContain('HTTPRoute/default/web#0.0');
    expect(names.some((n) => n.startsWith('GRPCRoute/default/rpc#0'))).toBe(true);
  });
});
