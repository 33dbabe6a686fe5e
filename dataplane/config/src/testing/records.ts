// Test-only builders of config records (never imported by production code).
import {
  EMPTY_MATCH,
  type Authorization,
  type Match,
  type ProxyState,
  type Service,
  type Workload,
} from '../index.ts';

export function workload(name: string, over: Partial<Workload> = {}): Workload {
  const namespace = over.namespace ?? 'default';
  return {
    uid: `uid-${name}`,
    name,
    namespace,
    addresses: [],
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

export function service(name: string, over: Partial<Service> = {}): Service {
  const namespace = over.namespace ?? 'default';
  return {
    id: `${namespace}/${name}`,
    name,
    namespace,
    hostname: `${name}.${namespace}.svc.cluster.local`,
    vips: [],
    ports: [{ name: 'http', port: 80, protocol: 'TCP' }],
    endpoints: [],
    source: { group: '', kind: 'Service', namespace, name },
    ...over,
  };
}

export function policy(
  id: string,
  action: Authorization['action'],
  matches: Partial<Match>[],
  scope: Authorization['scope'] = 'Namespace',
): Authorization {
  const [namespace = 'default', name = id] = id.split('/');
  return {
    id,
    name,
    namespace,
    scope,
    action,
    rules: [{ allOf: [{ matches: matches.map((m) => ({ ...EMPTY_MATCH, ...m })) }] }],
    source: { group: 'security.istio.io', kind: 'AuthorizationPolicy', namespace, name },
  };
}

export function state(records: {
  workloads?: Workload[];
  services?: Service[];
  policies?: Authorization[];
}): ProxyState {
  return {
    version: 'test',
    workloads: new Map((records.workloads ?? []).map((w) => [w.uid, w])),
    services: new Map((records.services ?? []).map((s) => [s.id, s])),
    authorizations: new Map((records.policies ?? []).map((a) => [a.id, a])),
    routeTables: new Map(),
    destinationPolicies: new Map(),
  };
}
