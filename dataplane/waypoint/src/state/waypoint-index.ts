// Lookups over the config a waypoint holds (STYLE §8: plain data, synchronous): what a CONNECT `:authority`
// names, which policies apply, how a port's traffic is parsed. Built once per config version.
import type { Authorization, ProxyState, Service, ServicePort, WaypointRef, Workload } from '@ambit/config';

/** What a CONNECT addressed: a Service this waypoint fronts (by VIP), or a pod bound to it (by IP). */
export type Destination =
  | {
      readonly kind: 'service';
      readonly service: Service;
      readonly port: ServicePort;
      readonly ip: string;
    }
  | {
      readonly kind: 'workload';
      readonly workload: Workload;
      /** The pod port. */
      readonly port: number;
      /** The Service port describing it, when some Service fronting the pod maps a port onto it. */
      readonly servicePort?: ServicePort;
      readonly ip: string;
    };

/**
 * How a port's bytes are read:
 *  - `http`: HTTP/1.1 or HTTP/2 prior knowledge, told apart by the first bytes;
 *  - `tcp`: never parsed (L4 policy, one endpoint per connection);
 *  - `detect`: sniffed; HTTP if it looks like HTTP, TCP otherwise (Istio's default for unnamed ports).
 */
export type PortProtocol = 'http' | 'tcp' | 'detect';

const HTTP_APP_PROTOCOLS = new Set(['http', 'http2', 'grpc', 'grpc-web', 'h2c', 'kubernetes.io/h2c']);
const TCP_APP_PROTOCOLS = new Set(['tcp', 'tls', 'https', 'mongo', 'mysql', 'redis', 'kubernetes.io/ws']);

/** Kubernetes `appProtocol` first, then Istio's port-name prefixes (`http-…`, `grpc-…`, `tcp-…`). */
export function portProtocol(port: ServicePort | undefined): PortProtocol {
  if (port === undefined) return 'detect';
  if (port.protocol !== '' && port.protocol.toUpperCase() !== 'TCP') return 'tcp'; // UDP/SCTP: not proxied as HTTP
  const declared = (port.appProtocol ?? port.name.split('-')[0] ?? '').toLowerCase();
  if (HTTP_APP_PROTOCOLS.has(declared)) return 'http';
  if (TCP_APP_PROTOCOLS.has(declared)) return 'tcp';
  return 'detect';
}

/** Whether the port asks for HTTP/2 upstream even when the caller spoke HTTP/1.1. */
export function prefersH2(port: ServicePort | undefined): boolean {
  const declared = (port?.appProtocol ?? port?.name.split('-')[0] ?? '').toLowerCase();
  return ['http2', 'grpc', 'h2c', 'kubernetes.io/h2c'].includes(declared);
}

const same = (a: WaypointRef | undefined, b: WaypointRef): boolean =>
  a !== undefined && a.namespace === b.namespace && a.name === b.name;

export interface WaypointIndex {
  readonly state: ProxyState;
  readonly self: WaypointRef;
  /** The destination a CONNECT `ip:port` names, if this waypoint fronts it. */
  destination(ip: string, port: number): Destination | undefined;
  /** Any workload in the config by one of its addresses (for telemetry on the caller). */
  workloadByIp(ip: string): Workload | undefined;
  /**
   * The Authorizations a request is checked against. A policy with targets (targetRefs) applies when it targets
   * this waypoint (`gateway:`) or the destination Service (`service:<ns>/<name>`); one without applies mesh-wide or
   * to its namespace. Selector-scoped policies are the ztunnel's (DESIGN §7: waypoints never enforce them).
   */
  policiesFor(namespace: string, service?: string): readonly Authorization[];
}

export function buildIndex(state: ProxyState, self: WaypointRef): WaypointIndex {
  const vips = new Map<string, Service>();
  for (const s of state.services.values()) {
    if (!same(s.waypoint, self)) continue;
    for (const vip of s.vips) vips.set(vip, s);
  }
  const byIp = new Map<string, Workload>();
  for (const w of state.workloads.values()) for (const ip of w.addresses) byIp.set(ip, w);
  const policies = [...state.authorizations.values()].filter((a) => a.scope !== 'WorkloadSelector');
  const byNamespace = new Map<string, readonly Authorization[]>();

  /** A Service port whose target is `podPort` on a Service that has `w` as an endpoint. */
  const servicePortOf = (w: Workload, podPort: number): ServicePort | undefined => {
    for (const s of state.services.values()) {
      const e = s.endpoints.find((x) => x.workloadUid === w.uid);
      if (!e) continue;
      const sp = s.ports.find((p) => e.ports[p.port] === podPort);
      if (sp) return sp;
    }
    return undefined;
  };

  return {
    state,
    self,
    destination(ip, port) {
      const service = vips.get(ip);
      if (service) {
        const sp = service.ports.find((p) => p.port === port);
        return sp ? { kind: 'service', service, port: sp, ip } : undefined;
      }
      const w = byIp.get(ip);
      if (!w || !same(w.waypoint, self)) return undefined;
      const sp = servicePortOf(w, port);
      return { kind: 'workload', workload: w, port, ip, ...(sp ? { servicePort: sp } : {}) };
    },
    workloadByIp: (ip) => byIp.get(ip),
    policiesFor(namespace, service) {
      const key = `${namespace}|${service ?? ''}`;
      let list = byNamespace.get(key);
      if (!list) {
        const gateway = `gateway:${self.namespace}/${self.name}`;
        list = policies.filter((a) =>
          a.targets
            ? a.targets.includes(gateway) ||
              (service !== undefined && a.targets.includes(`service:${service}`))
            : a.scope === 'Global' || a.namespace === namespace,
        );
        byNamespace.set(key, list);
      }
      return list;
    },
  };
}
