// Whether a Gateway of an Ambit class (waypoint or ingress) may be provisioned, and why not (pure). The cluster admin
// decides where waypoints and gateways run through `Mesh.spec.waypoints.allowedNamespaces` (DESIGN §3, §8: unset =
// every namespace).
import type { Gateway, Mesh } from '@ambit/codegen/crds';
import { MESH_NAME } from '../render/contract.ts';
import { gatewayServiceType } from '../render/ingress-gateway.ts';
import { matchesSelector } from './label-selector.ts';

export type Admission =
  | { readonly admitted: true }
  | {
      readonly admitted: false;
      /** Gateway API `Accepted` reason. */
      readonly reason: 'NotAllowed' | 'ListenersNotValid' | 'Pending' | 'Invalid';
      readonly message: string;
    };

/** Istio's waypoint listener: HBONE on 15008. A waypoint without one cannot carry mesh traffic. */
function hasHboneListener(gw: Gateway): boolean {
  return gw.spec.listeners.some((l) => l.protocol === 'HBONE' && l.port === 15008);
}

/** The checks every Ambit Gateway passes: the Mesh exists and allows the Gateway's namespace. */
function admitPlacement(
  gw: Gateway,
  mesh: Mesh | undefined,
  namespaceLabels: Readonly<Record<string, string>> | undefined,
  what: 'waypoints' | 'gateways',
): Admission {
  if (!mesh || mesh.metadata.deletionTimestamp) {
    return { admitted: false, reason: 'Pending', message: `waiting for the Mesh "${MESH_NAME}"` };
  }
  const ns = gw.metadata.namespace ?? '';
  const allowed = mesh.spec.waypoints?.allowedNamespaces;
  if (allowed) {
    const byName = allowed.names?.includes(ns) ?? false;
    const bySelector =
      allowed.selector !== undefined && matchesSelector(allowed.selector, namespaceLabels ?? {});
    if (!byName && !bySelector) {
      return {
        admitted: false,
        reason: 'NotAllowed',
        message:
          `namespace "${ns}" is not allowed to run ${what} by Mesh "${MESH_NAME}" ` +
          `spec.waypoints.allowedNamespaces; ask a cluster admin to add it`,
      };
    }
  }
  return { admitted: true };
}

export function admitWaypoint(
  gw: Gateway,
  mesh: Mesh | undefined,
  namespaceLabels: Readonly<Record<string, string>> | undefined,
): Admission {
  const placement = admitPlacement(gw, mesh, namespaceLabels, 'waypoints');
  if (!placement.admitted) return placement;
  if (!hasHboneListener(gw)) {
    return {
      admitted: false,
      reason: 'ListenersNotValid',
      message: 'a waypoint needs a listener with protocol HBONE on port 15008 (spec.listeners)',
    };
  }
  return { admitted: true };
}

/** An ingress Gateway: placement, then a Service type it can have (listeners are judged one by one in status). */
export function admitIngressGateway(
  gw: Gateway,
  mesh: Mesh | undefined,
  namespaceLabels: Readonly<Record<string, string>> | undefined,
): Admission {
  const placement = admitPlacement(gw, mesh, namespaceLabels, 'gateways');
  if (!placement.admitted) return placement;
  const type = gatewayServiceType(gw);
  if (!type.ok) return { admitted: false, reason: 'Invalid', message: type.message };
  return { admitted: true };
}
