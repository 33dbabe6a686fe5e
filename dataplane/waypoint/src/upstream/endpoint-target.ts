// Where one endpoint is reached (definitions and a pure lookup): the CONNECT authority, the identity the peer must
// present, the pod the HBONE stream is dialled to, and whether it speaks HBONE at all.
import type { ServiceEndpoint, Workload } from '@ambit/config';
import { WaypointError } from '../errors.ts';

export interface EndpointTarget {
  /** The workload the stream reaches: the endpoint's pod, or the waypoint pod when `via` is set. */
  readonly workload: Workload;
  /** The CONNECT authority's IP: the pod IP, or the Service VIP a waypoint routes. */
  readonly ip: string;
  /** The pod port (the Service's target port), or the Service port when `via` is set. */
  readonly port: number;
  /** `spiffe://…` of `workload`: a destination ztunnel presents the destination workload's certificate. */
  readonly identity: string;
  /**
   * The waypoint pod's IP when the stream goes through the Service's waypoint (an ingress gateway sending to a
   * Service labelled `istio.io/ingress-use-waypoint: "true"`): the stream is dialled to `<via>:15008` and names the
   * Service address; the waypoint routes it. Absent: dialled to `<ip>:15008`, the pod's node ztunnel.
   */
  readonly via?: string;
}

/** Where requests to a Service go through its waypoint: the Service address every CONNECT names. */
export interface ViaWaypoint {
  readonly ip: string;
  readonly port: number;
}

export function spiffeId(w: Pick<Workload, 'trustDomain' | 'namespace' | 'serviceAccount'>): string {
  return `spiffe://${w.trustDomain}/ns/${w.namespace}/sa/${w.serviceAccount}`;
}

/** The pool key of upstream streams: one per target and caller identity (see upstream-connector.ts). */
export function streamKey(target: EndpointTarget, callerIdentity: string | undefined): string {
  const via = target.via === undefined ? '' : `${target.via}>`;
  return `${via}${target.ip}:${target.port}|${callerIdentity ?? ''}`;
}

/**
 * The target of `endpoint` for Service port `servicePort`; throws when the config cannot say where it is. With
 * `via`, `endpoint` is one of the waypoint's pods and the target names the Service address instead.
 */
export function endpointTarget(
  workloads: ReadonlyMap<string, Workload>,
  endpoint: ServiceEndpoint,
  servicePort: number,
  via?: ViaWaypoint,
): EndpointTarget {
  const workload = workloads.get(endpoint.workloadUid);
  const ip = workload?.addresses[0];
  if (via !== undefined && workload && ip !== undefined) {
    return { workload, ip: via.ip, port: via.port, identity: spiffeId(workload), via: ip };
  }
  const port = endpoint.ports[servicePort];
  if (!workload || ip === undefined || port === undefined) {
    throw new WaypointError(
      'ERR_WAYPOINT_ENDPOINT_UNREACHABLE',
      `endpoint ${endpoint.workloadUid} has no workload address or no port for ${servicePort}`,
    );
  }
  return { workload, ip, port, identity: spiffeId(workload) };
}
