// Test-only builders of config records for waypoint tests (never imported by production code).
import {
  EMPTY_L7_MATCH,
  EMPTY_MATCH,
  EMPTY_STATE,
  type Authorization,
  type DestinationPolicy,
  type L7Match,
  type Match,
  type ProxyState,
  type RouteMatch,
  type RouteRule,
  type RouteTable,
  type Service,
  type Workload,
} from '@ambit/config';

export const WAYPOINT = { namespace: 'default', name: 'waypoint' } as const;
/** The ingress Gateway of gateway tests: class `istio`, so its proxy is `bookinfo-gateway-istio`. */
export const GATEWAY = { namespace: 'default', name: 'bookinfo-gateway' } as const;
export const GATEWAY_PROXY = 'bookinfo-gateway-istio';
export const GATEWAY_ID = 'spiffe://cluster.local/ns/default/sa/bookinfo-gateway-istio';

export function workload(name: string, ip: string, over: Partial<Workload> = {}): Workload {
  const namespace = over.namespace ?? 'default';
  return {
    uid: `uid-${name}`,
    name,
    namespace,
    addresses: [ip],
    node: 'node-a',
    serviceAccount: name,
    trustDomain: 'cluster.local',
    canonicalName: name,
    canonicalRevision: 'latest',
    workloadName: name,
    protocol: 'HBONE',
    mtls: { mode: 'PERMISSIVE', ports: {} },
    authorizationPolicies: [],
    ready: true,
    source: { group: '', kind: 'Pod', namespace, name },
    ...over,
  };
}

/** A Service fronted by the test waypoint; `endpoints` maps workload uid → pod port for Service port `port`. */
export function service(
  name: string,
  vip: string,
  port: number,
  endpoints: Readonly<Record<string, number>>,
  over: Partial<Service> = {},
): Service {
  const namespace = over.namespace ?? 'default';
  return {
    id: `${namespace}/${name}`,
    name,
    namespace,
    hostname: `${name}.${namespace}.svc.cluster.local`,
    vips: [vip],
    ports: [{ name: 'http', port, protocol: 'TCP' }],
    waypoint: WAYPOINT,
    endpoints: Object.entries(endpoints).map(([workloadUid, podPort]) => ({
      workloadUid,
      ports: { [port]: podPort },
      ready: true,
    })),
    source: { group: '', kind: 'Service', namespace, name },
    ...over,
  };
}

export function allow(id: string, match: Partial<Match>, l7: Partial<L7Match> = {}): Authorization {
  const [namespace = 'default', name = id] = id.split('/');
  return {
    id,
    name,
    namespace,
    scope: 'Namespace',
    action: 'Allow',
    rules: [{ allOf: [{ matches: [{ ...EMPTY_MATCH, ...match, l7: { ...EMPTY_L7_MATCH, ...l7 } }] }] }],
    source: { group: 'security.istio.io', kind: 'AuthorizationPolicy', namespace, name },
  };
}

export function state(records: {
  workloads?: Workload[];
  services?: Service[];
  authorizations?: Authorization[];
  routeTables?: RouteTable[];
  destinationPolicies?: DestinationPolicy[];
}): ProxyState {
  return {
    ...EMPTY_STATE,
    version: 'test',
    workloads: new Map((records.workloads ?? []).map((w) => [w.uid, w])),
    services: new Map((records.services ?? []).map((s) => [s.id, s])),
    authorizations: new Map((records.authorizations ?? []).map((a) => [a.id, a])),
    routeTables: new Map((records.routeTables ?? []).map((t) => [t.id, t])),
    destinationPolicies: new Map((records.destinationPolicies ?? []).map((p) => [p.id, p])),
  };
}

/** A route rule (everything but the name defaulted: no matches, no backends). */
export function route(name: string, over: Partial<RouteRule> = {}): RouteRule {
  return { name, matches: [], backends: [], mirrors: [], ...over };
}

/** A route match (no conditions unless given). */
export function when(over: Partial<RouteMatch> = {}): RouteMatch {
  return { headers: [], queryParams: [], ...over };
}

/** The table of one listener port of the test Gateway, as the operator's translation names it. */
export function gatewayTable(
  port: number,
  rules: RouteRule[],
  gateway: { readonly namespace: string; readonly name: string } = GATEWAY,
): RouteTable {
  const key = `${gateway.namespace}/${gateway.name}`;
  return {
    id: `gateway:${key}:${port}`,
    service: '',
    gateway: { gateway: key, port },
    protocol: 'HTTP',
    rules,
    sources: [],
  };
}

/** The operator's last rule of a table no route fully covers: 404 for every request left. */
export function unmatched(port: number): RouteRule {
  return route(`Gateway/default/bookinfo-gateway:${port}#unmatched`, {
    matches: [when()],
    fault: { abort: { status: 404, percent: 100 } },
  });
}
