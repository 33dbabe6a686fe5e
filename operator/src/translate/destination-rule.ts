// Translates an Istio DestinationRule into the destination policy waypoints apply (DESIGN §3, §4), as pure data.
//
// In order:
//  1. `spec.host` is read as Istio reads hosts (see virtual-service.ts); a host that names no Service is reported.
//  2. The traffic policy keeps what the waypoint can do: simple load balancing, connection limits, outlier
//     detection (with Istio's defaults filled in). Every other set field is named in the status (DESIGN §8).
//  3. Each subset becomes the uids of the Service's workloads whose labels include all of the subset's labels;
//     its traffic policy overrides the rule's own field by field, as Istio merges them.
//  4. A value that is wrong in meaning (an unparseable duration, a percentage out of range, a duplicate subset)
//     makes the object invalid: no policy, so the join keeps the last good one in force.
import type { DestinationRule } from '@ambit/codegen/crds';
import type {
  ConnectionPool,
  DestinationPolicy,
  LoadBalancer,
  OutlierDetection,
  SourceRef,
  Subset,
  TrafficPolicy,
} from '@ambit/config';
import type { ObjectStatus } from './status.ts';
import { durationMs, Findings, networkingStatus, type ServiceByHost } from './virtual-service.ts';

/** A workload behind a Service, as subsets select it. */
export interface WorkloadLabels {
  readonly uid: string;
  readonly labels: Readonly<Record<string, string>>;
}

export interface DestinationRuleContext {
  readonly serviceByHost: ServiceByHost;
  /** The workloads of a Service's endpoints, by `<namespace>/<name>`. */
  workloadsOf(service: string): readonly WorkloadLabels[];
}

export interface DestinationRuleTranslation {
  /** Absent when the object is invalid or names no Service. */
  readonly policy?: DestinationPolicy;
  readonly status: ObjectStatus;
}

type Spec = NonNullable<DestinationRule['spec']>;
type IstioTrafficPolicy = NonNullable<Spec['trafficPolicy']>;
type IstioSubset = NonNullable<Spec['subsets']>[number];

const SIMPLE_LB: Readonly<Record<string, LoadBalancer>> = {
  ROUND_ROBIN: 'ROUND_ROBIN',
  LEAST_REQUEST: 'LEAST_REQUEST',
  LEAST_CONN: 'LEAST_REQUEST', // deprecated alias, as Istio reads it
  RANDOM: 'RANDOM',
};

/** Unset, UNSPECIFIED or unsupported: undefined, so the waypoint's default applies. */
function loadBalancer(
  lb: IstioTrafficPolicy['loadBalancer'],
  field: string,
  f: Findings,
): LoadBalancer | undefined {
  if (!lb) return undefined;
  f.unknownFields(lb, ['simple'], field);
  if (!lb.simple || lb.simple === 'UNSPECIFIED') return undefined;
  const simple = SIMPLE_LB[lb.simple];
  if (!simple)
    f.unsupported(`${field}.simple`, `${lb.simple} is not supported; the default load balancer is used`);
  return simple;
}

function count(value: number | undefined, field: string, f: Findings): number | undefined {
  if (value !== undefined && value < 0) f.invalid(field, `must not be negative (got ${value})`);
  return value;
}

function connectionPool(
  pool: IstioTrafficPolicy['connectionPool'],
  field: string,
  f: Findings,
): ConnectionPool | undefined {
  if (!pool) return undefined;
  f.unknownFields(pool, ['tcp', 'http'], field);
  if (pool.tcp) f.unknownFields(pool.tcp, ['maxConnections'], `${field}.tcp`);
  if (pool.http)
    f.unknownFields(pool.http, ['http1MaxPendingRequests', 'maxRequestsPerConnection'], `${field}.http`);
  const maxConnections = count(pool.tcp?.maxConnections, `${field}.tcp.maxConnections`, f);
  const maxPendingRequests = count(
    pool.http?.http1MaxPendingRequests,
    `${field}.http.http1MaxPendingRequests`,
    f,
  );
  const maxRequestsPerConnection = count(
    pool.http?.maxRequestsPerConnection,
    `${field}.http.maxRequestsPerConnection`,
    f,
  );
  return {
    ...(maxConnections !== undefined ? { maxConnections } : {}),
    ...(maxPendingRequests !== undefined ? { maxPendingRequests } : {}),
    ...(maxRequestsPerConnection !== undefined ? { maxRequestsPerConnection } : {}),
  };
}

/** Outlier detection with Istio's (Envoy's) defaults: 5 errors, every 10 s, eject for 30 s, at most 10 %. */
function outlierDetection(
  o: IstioTrafficPolicy['outlierDetection'],
  field: string,
  f: Findings,
): OutlierDetection | undefined {
  if (!o) return undefined;
  f.unknownFields(
    o,
    ['consecutive5xxErrors', 'consecutiveErrors', 'interval', 'baseEjectionTime', 'maxEjectionPercent'],
    field,
    { minHealthPercent: 'not supported; endpoints are never used while ejected (a 0 % panic threshold)' },
  );
  const errors = o.consecutive5xxErrors ?? o.consecutiveErrors ?? 5;
  count(errors, `${field}.consecutive5xxErrors`, f);
  const max = o.maxEjectionPercent ?? 0;
  if (max < 0 || max > 100) f.invalid(`${field}.maxEjectionPercent`, `must be from 0 to 100 (got ${max})`);
  return {
    consecutive5xxErrors: errors,
    intervalMs: durationMs(o.interval, `${field}.interval`, f) ?? 10_000,
    baseEjectionTimeMs: durationMs(o.baseEjectionTime, `${field}.baseEjectionTime`, f) ?? 30_000,
    maxEjectionPercent: max > 0 ? max : 10, // Istio passes only a positive value on; 0 leaves Envoy's 10
  };
}

const TLS_WHY = 'not supported; mesh traffic always uses mTLS over HBONE (ISTIO_MUTUAL)';

function trafficPolicy(p: IstioTrafficPolicy | undefined, field: string, f: Findings): TrafficPolicy {
  if (!p) return {};
  f.unknownFields(p, ['loadBalancer', 'connectionPool', 'outlierDetection', 'tls'], field, {
    portLevelSettings: 'per-port policy is not supported; ignored',
  });
  // ISTIO_MUTUAL is what HBONE already does; any other TLS setting asks for something the mesh does not do.
  if (p.tls && (p.tls.mode !== 'ISTIO_MUTUAL' || Object.keys(p.tls).length > 1))
    f.unsupported(`${field}.tls`, TLS_WHY);
  const lb = loadBalancer(p.loadBalancer, `${field}.loadBalancer`, f);
  const pool = connectionPool(p.connectionPool, `${field}.connectionPool`, f);
  const outlier = outlierDetection(p.outlierDetection, `${field}.outlierDetection`, f);
  return {
    ...(lb ? { loadBalancer: lb } : {}),
    ...(pool ? { connectionPool: pool } : {}),
    ...(outlier ? { outlierDetection: outlier } : {}),
  };
}

/** A subset as the workloads it selects, sorted by uid so output does not depend on cache order. */
function subset(s: IstioSubset, field: string, workloads: readonly WorkloadLabels[], f: Findings): Subset {
  const selector = Object.entries(s.labels ?? {});
  const selected = workloads
    .filter((w) => selector.every(([k, v]) => w.labels[k] === v))
    .map((w) => w.uid)
    .sort();
  const policy = s.trafficPolicy && trafficPolicy(s.trafficPolicy, `${field}.trafficPolicy`, f);
  return { name: s.name, workloads: selected, ...(policy ? { trafficPolicy: policy } : {}) };
}

/** The destination policy of a DestinationRule for the Service its host names, and its Accepted condition. */
export function translateDestinationRule(
  dr: DestinationRule,
  ctx: DestinationRuleContext,
): DestinationRuleTranslation {
  const namespace = dr.metadata.namespace ?? 'default';
  const name = dr.metadata.name ?? '';
  const object: SourceRef = { group: 'networking.istio.io', kind: 'DestinationRule', namespace, name };
  const spec: Partial<Spec> = dr.spec ?? {};
  const f = new Findings();
  f.unknownFields(spec, ['host', 'trafficPolicy', 'subsets'], 'spec', {
    exportTo: 'not enforced; the policy applies to callers in every namespace',
    workloadSelector: 'applies to sidecars only; ignored at waypoints',
  });
  const host = spec.host ?? '';
  const wildcard = host.includes('*');
  const svc = wildcard ? undefined : ctx.serviceByHost(host, namespace);
  if (wildcard) f.unsupported('spec.host', `wildcard hosts are not supported (got ${JSON.stringify(host)})`);
  else if (!svc) f.unsupported('spec.host', `no Service is named ${JSON.stringify(host)}`);
  const id = svc && `${svc.namespace}/${svc.name}`;
  const policy = trafficPolicy(spec.trafficPolicy, 'spec.trafficPolicy', f);
  const workloads = id ? ctx.workloadsOf(id) : [];
  const subsets = (spec.subsets ?? []).map((s, i) => subset(s, `spec.subsets[${i}]`, workloads, f));
  subsets.forEach((s, i) => {
    if (subsets.findIndex((t) => t.name === s.name) < i)
      f.invalid(`spec.subsets[${i}].name`, `duplicate ${s.name}`);
  });
  if (!id || f.errors.length > 0) return { status: networkingStatus(object, [], !svc && !wildcard, f) };
  return {
    policy: { id, service: id, trafficPolicy: policy, subsets, source: object },
    status: networkingStatus(object, [id], false, f),
  };
}
