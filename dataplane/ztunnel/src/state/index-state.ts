// Lookups over the ztunnel's config (STYLE §8): plain data in, synchronous answers out. Built once per accepted push
// (O(records)), so every connection's lookups are O(1) map reads.
import type { Authorization, ProxyState, Service, Workload } from '@ambit/config';

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
}

export function buildIndex(state: ProxyState): ZtunnelIndex {
  const byIp = new Map<string, Workload>();
  for (const w of state.workloads.values()) for (const ip of w.addresses) byIp.set(ip, w);
  const byVip = new Map<string, Service>();
  for (const s of state.services.values()) for (const vip of s.vips) byVip.set(vip, s);
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
  };
}

/** Istio's principal form (no `spiffe://`), as policies name it. */
export function principalOf(w: Pick<Workload, 'trustDomain' | 'namespace' | 'serviceAccount'>): string {
  return `${w.trustDomain}/ns/${w.namespace}/sa/${w.serviceAccount}`;
}

/** The SPIFFE identity a workload's certificate carries. */
export function spiffeIdOf(w: Pick<Workload, 'trustDomain' | 'namespace' | 'serviceAccount'>): string {
  return `spiffe://${principalOf(w)}`;
}
