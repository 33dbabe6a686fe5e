// Where one endpoint is reached (definitions and a pure lookup): the pod's address and port, the identity its
// node's ztunnel must present, and whether it speaks HBONE at all.
import type { ServiceEndpoint, Workload } from '@ambit/config';
import { WaypointError } from '../errors.ts';

export interface EndpointTarget {
  readonly workload: Workload;
  /** The pod IP. */
  readonly ip: string;
  /** The pod port (the Service's target port). */
  readonly port: number;
  /** `spiffe://…` of the workload: the destination ztunnel presents the destination workload's certificate. */
  readonly identity: string;
}

export function spiffeId(w: Pick<Workload, 'trustDomain' | 'namespace' | 'serviceAccount'>): string {
  return `spiffe://${w.trustDomain}/ns/${w.namespace}/sa/${w.serviceAccount}`;
}

/** The target of `endpoint` for Service port `servicePort`; throws when the config cannot say where it is. */
export function endpointTarget(
  workloads: ReadonlyMap<string, Workload>,
  endpoint: ServiceEndpoint,
  servicePort: number,
): EndpointTarget {
  const workload = workloads.get(endpoint.workloadUid);
  const ip = workload?.addresses[0];
  const port = endpoint.ports[servicePort];
  if (!workload || ip === undefined || port === undefined) {
    throw new WaypointError(
      'ERR_WAYPOINT_ENDPOINT_UNREACHABLE',
      `endpoint ${endpoint.workloadUid} has no workload address or no port for ${servicePort}`,
    );
  }
  return { workload, ip, port, identity: spiffeId(workload) };
}
