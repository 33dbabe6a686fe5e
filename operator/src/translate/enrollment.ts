// Decides which waypoint fronts a pod or a Service, from Istio's labels. Enrollment itself (`isEnrolled`) lives in
// @ambit/config, shared with the node agent, and is re-exported here.
//
// Waypoint binding (`istio.io/use-waypoint`, optionally with `istio.io/use-waypoint-namespace`):
//  1. For a workload: the pod's label, else the namespace's; for a Service: its label, else the namespace's.
//     The closer label wins, and the value `none` there means no waypoint at all.
//  2. A waypoint binds only what its Gateway serves (`istio.io/waypoint-for`: service (default), workload, all,
//     none); a binding to a missing waypoint, or to one that does not serve that kind, is reported.

import type { WaypointRef } from '@ambit/config';

export { DATAPLANE_MODE_LABELS, isEnrolled } from '@ambit/config';
export const USE_WAYPOINT_LABEL = 'istio.io/use-waypoint';
export const USE_WAYPOINT_NAMESPACE_LABEL = 'istio.io/use-waypoint-namespace';
export const WAYPOINT_FOR_LABEL = 'istio.io/waypoint-for';

type Labels = Readonly<Record<string, string>> | undefined;

export type WaypointFor = 'service' | 'workload' | 'all' | 'none';

/** What the binder needs to know of the waypoints (Gateways of a waypoint class) in the cluster. */
export interface WaypointLookup {
  /** The `istio.io/waypoint-for` of an existing waypoint, or undefined when there is none of that name. */
  waypointFor(ref: WaypointRef): WaypointFor | undefined;
}

export type WaypointBinding =
  | { readonly kind: 'none' }
  | { readonly kind: 'bound'; readonly waypoint: WaypointRef; readonly via: 'pod' | 'service' | 'namespace' }
  /** Labelled for a waypoint that does not exist or does not serve this kind of traffic; fail closed. */
  | {
      readonly kind: 'unresolved';
      readonly waypoint: WaypointRef;
      readonly via: 'pod' | 'service' | 'namespace';
      readonly message: string;
    };

function refFrom(labels: Labels, defaultNamespace: string): WaypointRef | 'none' | undefined {
  const name = labels?.[USE_WAYPOINT_LABEL];
  if (name === undefined || name === '') return undefined;
  if (name === 'none') return 'none';
  return { namespace: labels?.[USE_WAYPOINT_NAMESPACE_LABEL] ?? defaultNamespace, name };
}

function bind(
  target: 'service' | 'workload',
  own: { labels: Labels; via: 'pod' | 'service' },
  namespace: { name: string; labels: Labels },
  waypoints: WaypointLookup,
): WaypointBinding {
  const ownRef = refFrom(own.labels, namespace.name);
  const nsRef = ownRef === undefined ? refFrom(namespace.labels, namespace.name) : undefined;
  const ref = ownRef ?? nsRef;
  if (ref === undefined || ref === 'none') return { kind: 'none' };
  const via = ownRef !== undefined ? own.via : 'namespace';
  const serves = waypoints.waypointFor(ref);
  const where = `${ref.namespace}/${ref.name}`;
  if (serves === undefined) {
    return { kind: 'unresolved', waypoint: ref, via, message: `waypoint ${where} does not exist` };
  }
  if (serves !== target && serves !== 'all') {
    // A namespace label only binds what the waypoint serves; an explicit label on the object is an error.
    if (via === 'namespace') return { kind: 'none' };
    return {
      kind: 'unresolved',
      waypoint: ref,
      via,
      message: `waypoint ${where} serves ${serves} traffic (label ${WAYPOINT_FOR_LABEL}), not ${target} traffic`,
    };
  }
  return { kind: 'bound', waypoint: ref, via };
}

/** The waypoint that fronts a workload (traffic addressed to the pod itself). */
export function workloadWaypoint(
  podLabels: Labels,
  namespace: { name: string; labels: Labels },
  waypoints: WaypointLookup,
): WaypointBinding {
  return bind('workload', { labels: podLabels, via: 'pod' }, namespace, waypoints);
}

/** The waypoint that fronts a Service. */
export function serviceWaypoint(
  serviceLabels: Labels,
  namespace: { name: string; labels: Labels },
  waypoints: WaypointLookup,
): WaypointBinding {
  return bind('service', { labels: serviceLabels, via: 'service' }, namespace, waypoints);
}
