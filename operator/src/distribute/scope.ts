// What each subscriber receives (DESIGN §4, issue 4): a ztunnel gets every Workload and Service it may route to,
// but Authorizations only as they apply to workloads on its own node; a waypoint gets the records of what it fronts.
import type {
  Authorization,
  DestinationPolicy,
  RouteTable,
  Service,
  WaypointRef,
  Workload,
} from '@ambit/config';
import { RecordIndex } from './record-index.ts';

/** The records one proxy is sent, keyed by id. */
export interface ProxyConfig {
  readonly workloads: ReadonlyMap<string, Workload>;
  readonly services: ReadonlyMap<string, Service>;
  readonly authorizations: ReadonlyMap<string, Authorization>;
  /** Waypoints only; absent means none. */
  readonly routeTables?: ReadonlyMap<string, RouteTable>;
  readonly destinationPolicies?: ReadonlyMap<string, DestinationPolicy>;
}

/** The whole translated config, of which each proxy gets a scope. */
export type FullConfig = ProxyConfig & {
  /** targetRefs policies (waypoint copies); absent means none. */
  readonly waypointAuthorizations?: ReadonlyMap<string, Authorization>;
};

/** Whether a policy applies to a workload (scope rules of DESIGN §7). */
export function appliesTo(a: Authorization, w: Workload): boolean {
  switch (a.scope) {
    case 'Global':
      return true;
    case 'Namespace':
      return a.namespace === w.namespace;
    case 'WorkloadSelector':
      return w.authorizationPolicies.includes(a.id);
  }
}

const waypointKey = (ref: WaypointRef | undefined) => (ref ? `${ref.namespace}/${ref.name}` : undefined);
/** Enrolled workloads by node: a ztunnel's own. */
const LOCAL_WORKLOADS = new RecordIndex<Workload>((w) => (w.protocol === 'HBONE' ? w.node : undefined));
const WORKLOADS_BY_WAYPOINT = new RecordIndex<Workload>((w) => waypointKey(w.waypoint));
const SERVICES_BY_WAYPOINT = new RecordIndex<Service>((s) => waypointKey(s.waypoint));

/**
 * A ztunnel's view: all workloads and services (it routes anywhere), and the authorizations that apply to at least
 * one enrolled workload on its node (as `appliesTo` decides). Cost: O(policies + local workloads), through the
 * node index.
 */
export function ztunnelScope(config: FullConfig, node: string): ProxyConfig {
  const local = LOCAL_WORKLOADS.group(config.workloads, node);
  const authorizations = new Map<string, Authorization>();
  if (local.size > 0) {
    // appliesTo() for the node's workloads at once: O(policies + local workloads).
    const namespaces = new Set<string>();
    const selected = new Set<string>();
    for (const w of local.values()) {
      namespaces.add(w.namespace);
      for (const id of w.authorizationPolicies) selected.add(id);
    }
    for (const [id, a] of config.authorizations) {
      const applies =
        a.scope === 'Global' || (a.scope === 'Namespace' ? namespaces.has(a.namespace) : selected.has(a.id));
      if (applies) authorizations.set(id, a);
    }
  }
  return { workloads: config.workloads, services: config.services, authorizations };
}

const sameWaypoint = (a: WaypointRef | undefined, b: WaypointRef) =>
  a !== undefined && a.namespace === b.namespace && a.name === b.name;

/**
 * A waypoint's view: the Services it fronts and the workloads behind them (it forwards to their endpoints), plus
 * the workloads bound to it directly. L4 authorizations stay with ztunnels; a waypoint's L7 policy arrives with its
 * route tables.
 */
export function waypointScope(config: FullConfig, waypoint: WaypointRef): ProxyConfig {
  const services = new Map<string, Service>();
  const workloads = new Map<string, Workload>();
  const key = waypointKey(waypoint) ?? '';
  for (const [id, s] of SERVICES_BY_WAYPOINT.group(config.services, key)) {
    services.set(id, s);
    for (const e of s.endpoints) {
      const w = config.workloads.get(e.workloadUid);
      if (w) workloads.set(w.uid, w);
    }
  }
  for (const [uid, w] of WORKLOADS_BY_WAYPOINT.group(config.workloads, key)) workloads.set(uid, w);
  // Route tables and destination policies of the Services it fronts, and of the Services those routes send to
  // (a route may split across Services: the waypoint must know their endpoints and policies too).
  const routeTables = new Map<string, RouteTable>();
  for (const id of services.keys()) {
    const t = config.routeTables?.get(id);
    if (!t) continue;
    routeTables.set(id, t);
    for (const rule of t.rules) {
      for (const b of [...rule.backends, ...rule.mirrors.map((m) => m.backend)]) {
        const target = config.services.get(b.service);
        if (!target || services.has(b.service)) continue;
        services.set(b.service, target);
        for (const e of target.endpoints) {
          const w = config.workloads.get(e.workloadUid);
          if (w) workloads.set(w.uid, w);
        }
      }
    }
  }
  const destinationPolicies = new Map<string, DestinationPolicy>();
  for (const id of services.keys()) {
    const p = config.destinationPolicies?.get(id);
    if (p) destinationPolicies.set(id, p);
  }
  // The targetRefs policies attached to the Services it fronts or to the waypoint itself.
  const gateway = `gateway:${waypoint.namespace}/${waypoint.name}`;
  const authorizations = new Map<string, Authorization>();
  const fronted = new Set(
    [...services.values()].filter((x) => sameWaypoint(x.waypoint, waypoint)).map((x) => `service:${x.id}`),
  );
  for (const [id, a] of config.waypointAuthorizations ?? []) {
    if ((a.targets ?? []).some((t) => t === gateway || fronted.has(t))) authorizations.set(id, a);
  }
  return { workloads, services, authorizations, routeTables, destinationPolicies };
}

const TABLES_BY_GATEWAY = new RecordIndex<RouteTable>((t) => t.gateway?.gateway);

/**
 * An ingress gateway's view: the route tables of its listener ports, the Services their rules send to (and the
 * waypoints fronting those, which a Service may ask ingress to use), the workloads behind them, their destination
 * policies, and the targetRefs policies attached to the gateway itself.
 */
export function gatewayScope(config: FullConfig, gateway: { namespace: string; name: string }): ProxyConfig {
  const key = `${gateway.namespace}/${gateway.name}`;
  const routeTables = new Map(config.routeTables ? TABLES_BY_GATEWAY.group(config.routeTables, key) : []);
  const services = new Map<string, Service>();
  const workloads = new Map<string, Workload>();
  const addService = (id: string) => {
    const svc = config.services.get(id);
    if (!svc || services.has(id)) return;
    services.set(id, svc);
    for (const e of svc.endpoints) {
      const w = config.workloads.get(e.workloadUid);
      if (w) workloads.set(w.uid, w);
    }
    if (svc.waypoint) addService(`${svc.waypoint.namespace}/${svc.waypoint.name}`);
  };
  for (const t of routeTables.values()) {
    for (const rule of t.rules)
      for (const b of [...rule.backends, ...rule.mirrors.map((m) => m.backend)]) addService(b.service);
  }
  const destinationPolicies = new Map<string, DestinationPolicy>();
  for (const id of services.keys()) {
    const p = config.destinationPolicies?.get(id);
    if (p) destinationPolicies.set(id, p);
  }
  const target = `gateway:${key}`;
  const authorizations = new Map<string, Authorization>();
  for (const [id, a] of config.waypointAuthorizations ?? []) {
    if ((a.targets ?? []).includes(target)) authorizations.set(id, a);
  }
  return { workloads, services, authorizations, routeTables, destinationPolicies };
}
