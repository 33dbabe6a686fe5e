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
  type RouteTable,
  type Service,
  type Workload,
} from '@ambit/config';

export const WAYPOINT = { namespace: 'default', name: 'waypoint' } as const;

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
