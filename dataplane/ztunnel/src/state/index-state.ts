// Lookups over the ztunnel's config (STYLE §8): plain data in, synchronous answers out. Built once per accepted push
// (O(records + service endpoints)), so every connection's lookups are O(1) map reads.
import type { Authorization, ProxyState, Service, WaypointRef, Workload } from '@ambit/config';

export interface ZtunnelIndex {
  readonly state: ProxyState;
  /** Workload by pod IP. */
  workloadByIp(ip: string): Workload | undefined;
  workloadByUid(uid: string): Workload | undefined;
  /** Service by cluster IP. */
  serviceByVip(ip: string): Service | undefined;
  /** Service by `<namespace>/<name>`. */
  serviceById(id: string): Service | undefined;
  /** The L4 policies that apply to a workload: mesh-wide, its namespace's, and those selecting it. */
  policiesFor(w: Workload): Authorization[];
  /**
   * Whether a SPIFFE id is a waypoint's: the service account of a WaypointRef that some Workload or Service names
   * (a waypoint's ServiceAccount is named like its Gateway, in its namespace: operator/src/render/waypoint.ts), in
   * the trust domain of the workloads it fronts. Only such a peer may forward a caller's identity for telemetry
   * (docs/identity-behind-waypoint.md).
   */
  isWaypointIdentity(spiffeId: string): boolean;
}

export function buildIndex(state: ProxyState): ZtunnelIndex {
  const byIp = new Map<string, Workload>();
  const waypoints = new Set<string>();
  for (const w of state.workloads.values()) {
    for (const ip of w.addresses) byIp.set(ip, w);
    if (w.waypoint) waypoints.add(waypointIdentity(w.trustDomain, w.waypoint));
  }
  const byVip = new Map<string, Service>();
  for (const s of state.services.values()) {
    for (const vip of s.vips) byVip.set(vip, s);
    // A Service record has no trust domain: its endpoints' workloads give it (O(endpoints), once per push).
    if (s.waypoint)
      for (const e of s.endpoints) {
        const w = state.workloads.get(e.workloadUid);
        if (w) waypoints.add(waypointIdentity(w.trustDomain, s.waypoint));
      }
  }
  const global: Authorization[] = [];
  const byNamespace = new Map<string, Authorization[]>();
  for (const a of state.authorizations.values()) {
    if (a.scope === 'Global') global.push(a);
    else if (a.scope === 'Namespace') {
      const list = byNamespace.get(a.namespace) ?? [];
      list.push(a);
      byNamespace.set(a.namespace, list);
    }
  }
  return {
    state,
    workloadByIp: (ip) => byIp.get(ip),
    workloadByUid: (uid) => state.workloads.get(uid),
    serviceByVip: (ip) => byVip.get(ip),
    serviceById: (id) => state.services.get(id),
    policiesFor: (w) => [
      ...global,
      ...(byNamespace.get(w.namespace) ?? []),
      ...w.authorizationPolicies.flatMap((id) => {
        const a = state.authorizations.get(id);
        return a ? [a] : [];
      }),
    ],
    isWaypointIdentity: (id) => waypoints.has(id),
  };
}

/** A waypoint's SPIFFE id: its ServiceAccount has the Gateway's namespace and name. */
export function waypointIdentity(trustDomain: string, ref: WaypointRef): string {
  return `spiffe://${trustDomain}/ns/${ref.namespace}/sa/${ref.name}`;
}

/** Istio's principal form (no `spiffe://`), as policies name it. */
export function principalOf(w: Pick<Workload, 'trustDomain' | 'namespace' | 'serviceAccount'>): string {
  return `${w.trustDomain}/ns/${w.namespace}/sa/${w.serviceAccount}`;
}

/** The SPIFFE identity a workload's certificate carries. */
export function spiffeIdOf(w: Pick<Workload, 'trustDomain' | 'namespace' | 'serviceAccount'>): string {
  return `spiffe://${principalOf(w)}`;
}
