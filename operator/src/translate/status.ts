// Status as data (STYLE §2): the conditions translation decides for each user object, and the Mesh warnings.
import type { SourceRef } from '@ambit/config';

/** Condition types, as Istio writes them on policies in ambient mode. */
export const ZTUNNEL_ACCEPTED = 'ZtunnelAccepted';
export const WAYPOINT_ACCEPTED = 'WaypointAccepted';
export const ACCEPTED = 'Accepted';

/** Fixed reasons, so that users and tests can match on them. */
export const Reason = {
  Accepted: 'Accepted',
  UnsupportedValue: 'UnsupportedValue',
  Invalid: 'Invalid',
  DryRun: 'DryRun',
  TargetNotFound: 'TargetNotFound',
  NoWaypoint: 'NoWaypoint',
  WaypointNotFound: 'WaypointNotFound',
  /** A GatewayClass of one of our names belongs to another controller (DESIGN §8). */
  ForeignGatewayClass: 'ForeignGatewayClass',
  // Gateway API route conditions (gateway-routes.ts: HTTPRoute and GRPCRoute with a Service parent).
  /** ResolvedRefs True. */
  ResolvedRefs: 'ResolvedRefs',
  /** A parentRef whose Service (or port) does not exist. */
  NoMatchingParent: 'NoMatchingParent',
  BackendNotFound: 'BackendNotFound',
  /** A cross-namespace reference that no ReferenceGrant allows. */
  RefNotPermitted: 'RefNotPermitted',
  /** A backendRef to something other than a Service. */
  InvalidKind: 'InvalidKind',
  // Routes with a Gateway parent (ingress-attachment.ts).
  /** No listener of the parent Gateway admits the route's namespace or kind. */
  NotAllowedByListeners: 'NotAllowedByListeners',
  /** The listeners that admit the route serve none of its hostnames. */
  NoMatchingListenerHostname: 'NoMatchingListenerHostname',
} as const;
export type Reason = (typeof Reason)[keyof typeof Reason];

export interface ConditionData {
  readonly type: string;
  readonly status: 'True' | 'False';
  readonly reason: Reason;
  readonly message: string;
}

/** The conditions of one object. */
export interface ObjectStatus {
  readonly object: SourceRef;
  readonly conditions: readonly ConditionData[];
}

/** One line of `Mesh.status.warnings`: something whose intent is not (fully) enforced. */
export interface MeshWarning {
  readonly group: string;
  readonly kind: string;
  readonly namespace: string;
  readonly name: string;
  readonly reason: Reason;
  readonly message: string;
}

/** Warnings for every condition that says False, or True with parts not enforced (DESIGN §8). */
export function warningsFrom(statuses: readonly ObjectStatus[]): MeshWarning[] {
  return statuses.flatMap((s) =>
    s.conditions
      .filter((c) => c.status === 'False' || c.reason === Reason.UnsupportedValue)
      .map((c) => ({ ...s.object, reason: c.reason, message: c.message })),
  );
}
