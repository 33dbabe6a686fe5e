// The ingress gateway's per-request decision as a table over config (STYLE §9): no sockets.
import type { ConnectionFacts, RequestFacts, ServicePort } from '@ambit/config';
import { describe, expect, it } from 'vitest';
import type { DownstreamRequest } from '../downstream/exchange.ts';
import { mulberry32 } from '../engine/testing/mulberry32.ts';
import { WaypointError } from '../errors.ts';
import { replyFor } from '../local-reply.ts';
import type { ForwardPlan } from '../plan/request-plan.ts';
import {
  allow,
  GATEWAY,
  gatewayTable,
  route,
  service,
  state,
  unmatched,
  when,
  workload,
} from '../testing/records.ts';
import { buildGatewayIndex } from './gateway-index.ts';
import {
  gatewayCluster,
  gatewayUpstreamH2,
  planGatewayRequest,
  withForwardedHeaders,
} from './gateway-plan.ts';

const conn: ConnectionFacts = { sourceIp: '192.0.2.7', destinationIp: '10.0.0.9', destinationPort: 80 };
const req = (over: Partial<RequestFacts> = {}): RequestFacts => ({
  method: 'GET',
  path: '/productpage',
  host: 'bookinfo.example',
  headers: {},
  port: 80,
  ...over,
});
const fixed = (v: number) => () => v;

// Services outside any waypoint unless a test says otherwise.
const productpage = service('productpage', '10.96.0.10', 9080, { 'uid-pp': 9080 }, { waypoint: undefined });
const reviews = service(
  'reviews',
  '10.96.0.20',
  9080,
  { 'uid-r1': 9080, 'uid-r2': 9080 },
  { waypoint: undefined },
);
const base = {
  workloads: [workload('pp', '10.1.0.1'), workload('r1', '10.1.0.2'), workload('r2', '10.1.0.3')],
  services: [productpage, reviews],
};
const toProductpage = { service: 'default/productpage', port: 9080, weight: 1 };

function plan(records: Parameters<typeof state>[0], r = req(), rand = fixed(0.5), port = 80) {
  return planGatewayRequest(buildGatewayIndex(state(records), GATEWAY), port, conn, r, rand);
}

describe('buildGatewayIndex', () => {
  it("serves one listener per port of this Gateway's tables, ascending, and nothing of other tables", () => {
    const index = buildGatewayIndex(
      state({
        routeTables: [
          gatewayTable(8080, [route('b')]),
          gatewayTable(80, [route('a')]),
          gatewayTable(81, [route('other')], { namespace: 'default', name: 'other-gateway' }),
          { id: 'default/reviews', service: 'default/reviews', protocol: 'HTTP', rules: [], sources: [] },
        ],
      }),
      GATEWAY,
    );
    expect(index.listeners).toEqual([
      { port: 80, protocol: 'HTTP' },
      { port: 8080, protocol: 'HTTP' },
    ]);
    expect(index.table(80)?.rules[0]?.name).toBe('a');
    expect(index.table(81)).toBeUndefined();
  });

  it('checks requests against policies on this Gateway, mesh-wide and in its namespace, never selector ones', () => {
    const on = (id: string, targets: string[]) => ({ ...allow(id, {}), targets });
    const index = buildGatewayIndex(
      state({
        authorizations: [
          on('default/on-gateway', ['gateway:default/bookinfo-gateway']),
          on('default/on-other', ['gateway:default/other']),
          on('default/on-service', ['service:default/reviews']),
          allow('default/namespace-wide', {}),
          { ...allow('istio-system/mesh', {}), scope: 'Global' },
          allow('other/namespace-wide', {}),
          { ...allow('default/selector', {}), scope: 'WorkloadSelector' },
        ],
      }),
      GATEWAY,
    );
    expect(index.policies.map((p) => p.id).sort()).toEqual([
      'default/namespace-wide',
      'default/on-gateway',
      'istio-system/mesh',
    ]);
  });
});

describe('planGatewayRequest', () => {
  const exact = route('exact', {
    matches: [when({ hosts: ['bookinfo.example'] })],
    backends: [toProductpage],
  });
  const wildcard = route('wildcard', {
    matches: [when({ hosts: ['*.example.com'] })],
    backends: [{ service: 'default/reviews', port: 9080, weight: 1 }],
  });
  const anyHost = route('any-host', { backends: [{ service: 'default/reviews', port: 9080, weight: 1 }] });

  it('routes by host: the host-specific rule before the any-host one', () => {
    const records = { ...base, routeTables: [gatewayTable(80, [exact, wildcard, anyHost])] };
    expect(plan(records, req({ host: 'BookInfo.Example:80' }))).toMatchObject({
      kind: 'forward',
      routeName: 'exact',
      cluster: { id: 'default/productpage' },
    });
    expect(plan(records, req({ host: 'a.b.example.com' }))).toMatchObject({ routeName: 'wildcard' });
    expect(plan(records, req({ host: 'example.com' }))).toMatchObject({ routeName: 'any-host' });
  });

  it('answers a host no rule serves with the table’s 404 rule, or 404 NR without one', () => {
    const withUnmatched = { ...base, routeTables: [gatewayTable(80, [exact, unmatched(80)])] };
    expect(plan(withUnmatched, req({ host: 'unknown.example' }))).toMatchObject({
      kind: 'abort',
      status: 404,
    });
    const bare = { ...base, routeTables: [gatewayTable(80, [exact])] };
    expect(plan(bare, req({ host: 'unknown.example' }))).toEqual({ kind: 'no-route' });
  });

  it('picks the table by listener port', () => {
    const records = {
      ...base,
      routeTables: [
        gatewayTable(80, [anyHost]),
        gatewayTable(8080, [route('alt', { backends: [toProductpage] })]),
      ],
    };
    expect(plan(records, req(), fixed(0.5), 8080)).toMatchObject({ routeName: 'alt' });
    expect(plan(records, req(), fixed(0.5), 9999)).toEqual({ kind: 'no-route' });
  });

  it('splits by weight (90/10 over 2,000 draws: the minor share within 8–12 %)', () => {
    const split = route('split', {
      backends: [
        { service: 'default/productpage', port: 9080, weight: 90 },
        { service: 'default/reviews', port: 9080, weight: 10 },
      ],
    });
    const index = buildGatewayIndex(state({ ...base, routeTables: [gatewayTable(80, [split])] }), GATEWAY);
    const rand = mulberry32(7);
    let minor = 0;
    for (let i = 0; i < 2000; i++) {
      const p = planGatewayRequest(index, 80, conn, req(), rand);
      if (p.kind === 'forward' && p.cluster.id === 'default/reviews') minor++;
    }
    expect(minor / 2000).toBeGreaterThan(0.08);
    expect(minor / 2000).toBeLessThan(0.12);
  });

  it('answers 500 for a backend whose Service or port does not exist (Gateway API), 503 NC stays the waypoint’s', () => {
    const missing = route('missing', { backends: [{ service: 'default/nope', port: 80, weight: 1 }] });
    const wrongPort = route('wrong-port', {
      backends: [{ service: 'default/productpage', port: 81, weight: 1 }],
    });
    for (const r of [missing, wrongPort]) {
      let thrown: unknown;
      try {
        plan({ ...base, routeTables: [gatewayTable(80, [r])] });
      } catch (err) {
        thrown = err;
      }
      expect(thrown).toBeInstanceOf(WaypointError);
      expect((thrown as WaypointError).code).toBe('ERR_WAYPOINT_BACKEND_NOT_FOUND');
      expect(replyFor(thrown).status).toBe(500);
    }
  });

  it('only fails the missing backend’s share of a split', () => {
    const half = route('half', {
      backends: [toProductpage, { service: 'default/nope', port: 80, weight: 1 }],
    });
    const records = { ...base, routeTables: [gatewayTable(80, [half])] };
    expect(plan(records, req(), fixed(0.2))).toMatchObject({ kind: 'forward' });
    expect(() => plan(records, req(), fixed(0.8))).toThrow('default/nope');
  });

  it('denies with a policy on the Gateway before routing', () => {
    const deny = {
      ...allow('default/no-delete', {}, { methods: ['DELETE'] }),
      action: 'Deny' as const,
      targets: ['gateway:default/bookinfo-gateway'],
    };
    const records = { ...base, authorizations: [deny], routeTables: [gatewayTable(80, [anyHost])] };
    expect(plan(records, req({ method: 'DELETE' }))).toMatchObject({ kind: 'deny', status: 403 });
    expect(plan(records, req())).toMatchObject({ kind: 'forward' });
  });

  it('applies the rule’s filters as the waypoint does (shared planRule)', () => {
    const filtered = route('filtered', {
      backends: [toProductpage],
      rewrite: { path: { full: '/new' } },
      requestHeaders: { set: [{ name: 'x-route', value: 'gw' }], add: [], remove: [] },
      timeoutMs: 500,
      retry: { attempts: 2, retryOn: ['5xx'], retriableStatusCodes: [] },
    });
    const p = plan({ ...base, routeTables: [gatewayTable(80, [filtered])] });
    expect(p).toMatchObject({
      kind: 'forward',
      request: { path: '/new', headers: { 'x-route': 'gw' } },
      timeoutMs: 500,
      retry: { attempts: 2 },
    });
  });
});

describe('gatewayCluster', () => {
  const waypointSvc = service('waypoint', '10.96.0.99', 15008, { 'uid-wp': 15008 }, { waypoint: undefined });
  const fronted = (over: object) =>
    service(
      'reviews',
      '10.96.0.20',
      9080,
      { 'uid-r1': 9080 },
      { waypoint: { namespace: 'default', name: 'waypoint' }, ...over },
    );
  const records = (svc: ReturnType<typeof fronted>) =>
    state({
      workloads: [workload('r1', '10.1.0.2'), workload('wp', '10.1.0.50')],
      services: [svc, waypointSvc],
    });
  const backend = { service: 'default/reviews', port: 9080, weight: 1 };

  it('goes through the waypoint when the Service asks ingress to use it: its pods, the Service address', () => {
    const c = gatewayCluster(records(fronted({ ingressUseWaypoint: true })), backend);
    expect(c.id).toBe('default/reviews@waypoint');
    expect(c.viaWaypoint).toEqual({ ip: '10.96.0.20', port: 9080 });
    expect(c.target.endpoints.map((e) => e.workloadUid)).toEqual(['uid-wp']);
  });

  it('goes straight to the endpoints when the Service has a waypoint but does not ask (Istio’s default)', () => {
    const c = gatewayCluster(records(fronted({})), backend);
    expect(c.viaWaypoint).toBeUndefined();
    expect(c.target.endpoints.map((e) => e.workloadUid)).toEqual(['uid-r1']);
  });

  it('goes straight to the endpoints of a headless Service (no address for the waypoint to route)', () => {
    expect(
      gatewayCluster(records(fronted({ ingressUseWaypoint: true, vips: [] })), backend).viaWaypoint,
    ).toBeUndefined();
  });

  it('has no endpoint (503 UH later), never a bypass, when the waypoint has no ready pod', () => {
    const s = state({
      workloads: [workload('r1', '10.1.0.2')],
      services: [fronted({ ingressUseWaypoint: true })],
    });
    const c = gatewayCluster(s, backend);
    expect(c.viaWaypoint).toBeDefined();
    expect(c.target.endpoints).toEqual([]);
  });
});

describe('withForwardedHeaders', () => {
  it('appends the client to x-forwarded-for and sets x-forwarded-proto', () => {
    expect(withForwardedHeaders(req(), '192.0.2.7', 'http').headers).toMatchObject({
      'x-forwarded-for': '192.0.2.7',
      'x-forwarded-proto': 'http',
    });
    const prior = req({ headers: { 'x-forwarded-for': '203.0.113.1', 'x-forwarded-proto': 'https' } });
    expect(withForwardedHeaders(prior, '192.0.2.7', 'http').headers).toMatchObject({
      'x-forwarded-for': '203.0.113.1, 192.0.2.7',
      'x-forwarded-proto': 'http',
    });
  });
});

describe('gatewayUpstreamH2', () => {
  const down = (protocol: DownstreamRequest['protocol']) => ({ protocol }) as DownstreamRequest;
  const planTo = (port: ServicePort | undefined) =>
    ({
      cluster: {
        backend: { service: 'default/x', port: 80, weight: 1 },
        ...(port ? { service: { ...productpage, ports: [port] } } : {}),
      },
    }) as unknown as ForwardPlan;

  it.each<[string, ServicePort | undefined, DownstreamRequest['protocol'], boolean]>([
    ['http port, HTTP/2 caller', { name: 'http', port: 80, protocol: 'TCP' }, 'HTTP/2', false],
    ['grpc port, HTTP/1.1 caller', { name: 'grpc', port: 80, protocol: 'TCP' }, 'HTTP/1.1', true],
    [
      'appProtocol h2c',
      { name: 'web', port: 80, protocol: 'TCP', appProtocol: 'kubernetes.io/h2c' },
      'HTTP/1.1',
      true,
    ],
    [
      'undeclared port follows the caller (HTTP/2)',
      { name: 'web', port: 80, protocol: 'TCP' },
      'HTTP/2',
      true,
    ],
    [
      'undeclared port follows the caller (HTTP/1.1)',
      { name: 'web', port: 80, protocol: 'TCP' },
      'HTTP/1.1',
      false,
    ],
  ])('%s', (_name, port, protocol, expected) => {
    expect(gatewayUpstreamH2(down(protocol), planTo(port))).toBe(expected);
  });
});
