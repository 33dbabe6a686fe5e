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

/**
 * A ztunnel's view: all workloads and services (it routes anywhere), and the authorizations that apply to at least
 * one enrolled workload on its node. Cost: O(policies × local workloads), local workloads being few per node.
 */
export function ztunnelScope(config: FullConfig, node: string): ProxyConfig {
  const local = [...config.workloads.values()].filter((w) => w.node === node && w.protocol === 'HBONE');
  const authorizations = new Map<string, Authorization>();
  for (const [id, a] of config.authorizations) {
    if (local.some((w) => appliesTo(a, w))) authorizations.set(id, a);
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
  for (const [id, s] of config.services) {
    if (!sameWaypoint(s.waypoint, waypoint)) continue;
    services.set(id, s);
    for (const e of s.endpoints) {
      const w = config.workloads.get(e.workloadUid);
      if (w) workloads.set(w.uid, w);
    }
  }
  for (const [uid, w] of config.workloads) if (sameWaypoint(w.waypoint, waypoint)) workloads.set(uid, w);
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
  for (const [id, a] of config.waypointAuthorizations ?? []) {
    const fronted = [...services.values()]
      .filter((x) => sameWaypoint(x.waypoint, waypoint))
      .map((x) => `service:${x.id}`);
    if ((a.targets ?? []).some((t) => t === gateway || fronted.includes(t))) authorizations.set(id, a);
  }
  return { workloads, services, authorizations, routeTables, destinationPolicies };
}
