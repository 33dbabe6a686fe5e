// The dataplane config model (DESIGN §4): compact, per-workload records keyed by a stable id. Domain types only;
// the wire form lives in the protocol package and converts at one edge.
import type { L7Match } from './l7-model.ts';

/** Where a record came from, so a deny log or a metric can name the object (STYLE §3). */
export interface SourceRef {
  readonly group: string;
  readonly kind: string;
  readonly namespace: string;
  readonly name: string;
}

/** How many workloads a policy covers. */
export type AuthorizationScope = 'Global' | 'Namespace' | 'WorkloadSelector';

export type AuthorizationAction = 'Allow' | 'Deny';

/**
 * One L4 matcher. It matches a connection when every non-empty positive list contains the connection's value and
 * no non-empty negative list does. Principals and namespaces are absent for plaintext callers: a positive list
 * then fails and a negative list passes (Istio's semantics).
 *
 * String matchers take Istio's forms: exact, `prefix*`, `*suffix`, or `*` (any value that is present).
 */
export interface Match {
  readonly principals: readonly string[];
  readonly notPrincipals: readonly string[];
  readonly namespaces: readonly string[];
  readonly notNamespaces: readonly string[];
  /** CIDRs (a bare address is a /32). */
  readonly sourceIps: readonly string[];
  readonly notSourceIps: readonly string[];
  readonly destinationIps: readonly string[];
  readonly notDestinationIps: readonly string[];
  /** Ports of the pod (the target port), not of the Service. */
  readonly destinationPorts: readonly number[];
  readonly notDestinationPorts: readonly number[];
  /** Request attributes, in waypoint copies only (the ztunnel never receives them: DESIGN §7). */
  readonly l7?: L7Match;
}

/** Any one of its matches. An empty list matches nothing. */
export interface AnyOf {
  readonly matches: readonly Match[];
}

/** One Istio rule: every one of its conditions (from, to, each `when`). An empty list matches everything. */
export interface Rule {
  readonly allOf: readonly AnyOf[];
}

/** An L4 authorization policy as ztunnel enforces it. A policy matches a connection when any rule matches. */
export interface Authorization {
  /** `<namespace>/<name>`. */
  readonly id: string;
  readonly name: string;
  readonly namespace: string;
  readonly scope: AuthorizationScope;
  readonly action: AuthorizationAction;
  readonly rules: readonly Rule[];
  readonly source: SourceRef;
  /**
   * Waypoint copies only (a policy with targetRefs): what it is attached to, as `service:<ns>/<name>` or
   * `gateway:<ns>/<name>` (the waypoint itself, so every request through it).
   */
  readonly targets?: readonly string[];
}

export type MtlsMode = 'STRICT' | 'PERMISSIVE';

/** The mTLS requirement of a workload's inbound side, resolved from PeerAuthentication by the control plane. */
export interface MtlsPolicy {
  readonly mode: MtlsMode;
  /** Pod port → mode, only where it differs from `mode`. */
  readonly ports: Readonly<Record<number, MtlsMode>>;
}

/** A waypoint by its Gateway name; proxies reach it through its Service (`<name>.<namespace>.svc`). */
export interface WaypointRef {
  readonly namespace: string;
  readonly name: string;
}

/** How a workload is reached: HBONE when it is in the mesh, plain TCP when it is not. */
export type TunnelProtocol = 'HBONE' | 'NONE';

/** One pod (DESIGN §4). */
export interface Workload {
  /** The pod's uid. */
  readonly uid: string;
  readonly name: string;
  readonly namespace: string;
  readonly addresses: readonly string[];
  readonly node: string;
  readonly serviceAccount: string;
  readonly trustDomain: string;
  /** Istio's canonical service name and revision, for telemetry. */
  readonly canonicalName: string;
  readonly canonicalRevision: string;
  /** The owning workload (Deployment, StatefulSet, Job…) name, or the pod's. */
  readonly workloadName: string;
  readonly protocol: TunnelProtocol;
  /** The waypoint fronting traffic addressed to this pod; a reference no proxy can resolve fails closed. */
  readonly waypoint?: WaypointRef;
  readonly mtls: MtlsPolicy;
  /** Ids of the WorkloadSelector-scoped Authorizations that select this pod. */
  readonly authorizationPolicies: readonly string[];
  readonly ready: boolean;
  readonly source: SourceRef;
}

export interface ServicePort {
  readonly name: string;
  readonly port: number;
  readonly protocol: string;
  readonly appProtocol?: string;
}

/** One endpoint of a Service: a workload and, per Service port, the pod port it is served on. */
export interface ServiceEndpoint {
  readonly workloadUid: string;
  /** Service port → pod port. */
  readonly ports: Readonly<Record<number, number>>;
  readonly ready: boolean;
}

/** One Kubernetes Service (DESIGN §4). */
export interface Service {
  /** `<namespace>/<name>`. */
  readonly id: string;
  readonly name: string;
  readonly namespace: string;
  readonly hostname: string;
  /** Cluster IPs; empty for a headless Service. */
  readonly vips: readonly string[];
  readonly ports: readonly ServicePort[];
  readonly waypoint?: WaypointRef;
  /**
   * Ingress gateways send to `waypoint` too (Istio's `istio.io/ingress-use-waypoint: "true"` label); otherwise
   * they go straight to the endpoints. Absent: false.
   */
  readonly ingressUseWaypoint?: boolean;
  readonly endpoints: readonly ServiceEndpoint[];
  readonly source: SourceRef;
}

/** An empty matcher (matches every connection); build real ones by spreading over it. */
export const EMPTY_MATCH: Match = {
  principals: [],
  notPrincipals: [],
  namespaces: [],
  notNamespaces: [],
  sourceIps: [],
  notSourceIps: [],
  destinationIps: [],
  notDestinationIps: [],
  destinationPorts: [],
  notDestinationPorts: [],
};
