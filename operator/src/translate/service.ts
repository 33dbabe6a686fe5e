// Translates a Service and its EndpointSlices into a Service record (DESIGN §4): VIPs, ports, waypoint, endpoints.

import type { Service, ServiceEndpoint, ServicePort } from '@ambit/config';
import type { V1EndpointSlice, V1Service } from '@kubernetes/client-node';
import { serviceWaypoint, type WaypointBinding, type WaypointLookup } from './enrollment.ts';

/** Istio's label asking ingress gateways to send to the Service's waypoint too. */
export const INGRESS_USE_WAYPOINT_LABEL = 'istio.io/ingress-use-waypoint';

export interface ServiceContext {
  /** The cluster DNS domain, e.g. cluster.local. */
  readonly clusterDomain: string;
  namespaceLabels(name: string): Readonly<Record<string, string>> | undefined;
  readonly waypoints: WaypointLookup;
}

export type ServiceTranslation =
  | { readonly kind: 'service'; readonly record: Service; readonly waypoint: WaypointBinding }
  | { readonly kind: 'unsupported'; readonly reason: string };

function portsOf(svc: V1Service): ServicePort[] {
  return (svc.spec?.ports ?? []).map((p) => ({
    name: p.name ?? '',
    port: p.port,
    protocol: p.protocol ?? 'TCP',
    ...(p.appProtocol ? { appProtocol: p.appProtocol } : {}),
  }));
}

/**
 * Endpoints by workload. EndpointSlice ports carry the Service port's name and the resolved pod port, so a named
 * targetPort that differs per pod is handled. Endpoints without a Pod targetRef (hand-made slices) are left out:
 * the dataplane routes to workloads it knows.
 */
function endpointsOf(ports: readonly ServicePort[], slices: readonly V1EndpointSlice[]): ServiceEndpoint[] {
  const byUid = new Map<string, { ports: Record<number, number>; ready: boolean }>();
  for (const slice of slices) {
    if (slice.addressType !== 'IPv4') continue;
    const sliceTargets = new Map<number, number>();
    for (const sp of slice.ports ?? []) {
      const svcPort = ports.find((p) => p.name === (sp.name ?? ''));
      if (svcPort && sp.port !== undefined) sliceTargets.set(svcPort.port, sp.port);
    }
    for (const ep of slice.endpoints ?? []) {
      const uid = ep.targetRef?.kind === 'Pod' ? ep.targetRef.uid : undefined;
      if (!uid) continue;
      const entry = byUid.get(uid) ?? { ports: {}, ready: false };
      for (const [svcPort, podPort] of sliceTargets) entry.ports[svcPort] = podPort;
      entry.ready ||= ep.conditions?.ready !== false;
      byUid.set(uid, entry);
    }
  }
  return [...byUid.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([workloadUid, e]) => ({ workloadUid, ports: e.ports, ready: e.ready }));
}

export function translateService(
  svc: V1Service,
  slices: readonly V1EndpointSlice[],
  ctx: ServiceContext,
): ServiceTranslation {
  const name = svc.metadata?.name ?? '';
  const namespace = svc.metadata?.namespace ?? 'default';
  if (svc.spec?.type === 'ExternalName') {
    return { kind: 'unsupported', reason: 'ExternalName Services are not part of the mesh' };
  }
  const ips = svc.spec?.clusterIPs ?? (svc.spec?.clusterIP ? [svc.spec.clusterIP] : []);
  const vips = ips.filter((ip) => ip !== 'None' && ip !== '');
  const ports = portsOf(svc);
  const waypoint = serviceWaypoint(
    svc.metadata?.labels,
    { name: namespace, labels: ctx.namespaceLabels(namespace) },
    ctx.waypoints,
  );
  const record: Service = {
    id: `${namespace}/${name}`,
    name,
    namespace,
    hostname: `${name}.${namespace}.svc.${ctx.clusterDomain}`,
    vips,
    ports,
    ...(waypoint.kind === 'none' ? {} : { waypoint: waypoint.waypoint }),
    ...(svc.metadata?.labels?.[INGRESS_USE_WAYPOINT_LABEL] === 'true' ? { ingressUseWaypoint: true } : {}),
    endpoints: endpointsOf(ports, slices),
    source: { group: '', kind: 'Service', namespace, name },
  };
  return { kind: 'service', record, waypoint };
}
