// Whether an inbound connection may reach a pod on this node (STYLE §10): the destination workload's policies and
// its mTLS mode, evaluated by the one pure `authorize` of @ambit/config. Called at accept, and again for every open
// connection when a push changes policy (a connection no longer allowed is closed). Also, apart from that decision,
// which caller a trusted waypoint forwards for telemetry (`forwardedSource`).
import { authorize, type Decision, type Workload } from '@ambit/config';
import { parseBaggage } from '@ambit/hbone';
import type { ZtunnelIndex } from '../state/index-state.ts';

export interface InboundFacts {
  readonly sourceIp: string;
  readonly destinationIp: string;
  /** The pod port. */
  readonly destinationPort: number;
  /** The peer's SPIFFE identity (`spiffe://td/ns/x/sa/y`); undefined for plaintext. */
  readonly peerIdentity?: string;
}

export type InboundVerdict =
  | { readonly kind: 'allow'; readonly workload: Workload; readonly decision: Decision }
  | { readonly kind: 'deny'; readonly workload: Workload; readonly decision: Decision }
  /** The destination is not a mesh workload on this node: nothing to deliver to. */
  | { readonly kind: 'unknown-destination' };

/** `spiffe://td/ns/x/sa/y` → principal `td/ns/x/sa/y` and namespace `x`; anything else has no identity. */
export function peerOf(identity: string | undefined): { principal: string; namespace: string } | undefined {
  const m = identity ? /^spiffe:\/\/([^/]+\/ns\/([^/]+)\/sa\/[^/]+)$/.exec(identity) : null;
  return m?.[1] && m[2] ? { principal: m[1], namespace: m[2] } : undefined;
}

export function decideInbound(index: ZtunnelIndex, node: string, f: InboundFacts): InboundVerdict {
  const workload = index.workloadByIp(f.destinationIp);
  if (!workload || workload.node !== node || workload.protocol !== 'HBONE')
    return { kind: 'unknown-destination' };
  const peer = peerOf(f.peerIdentity);
  const decision = authorize(
    index.policiesFor(workload),
    {
      sourceIp: f.sourceIp,
      destinationIp: f.destinationIp,
      destinationPort: f.destinationPort,
      ...(peer ? { peer } : {}),
    },
    workload.mtls,
  );
  return { kind: decision.allowed ? 'allow' : 'deny', workload, decision };
}

/** One line naming what decided, for the deny log (STYLE §3: records know their source). */
export function describeDecision(d: Decision): string {
  if (d.allowed)
    return d.policy ? `allowed by ${d.policy.id}` : 'allowed (no ALLOW policy selects the workload)';
  switch (d.reason) {
    case 'denied-by-policy':
      return `denied by DENY policy ${d.policy.id}`;
    case 'not-allowed-by-any-policy':
      return 'denied: no ALLOW policy matches';
    case 'mtls-required':
      return 'denied: STRICT mTLS requires a peer identity';
  }
}

/** Baggage keys a waypoint forwards its caller under (dataplane/waypoint `sourceBaggage`); `service.name` is Istio's. */
export const FORWARDED_KEYS = {
  principal: 'k8s.source.principal',
  namespace: 'k8s.source.namespace',
  workload: 'k8s.source.workload',
  canonicalService: 'service.name',
} as const;

/** The caller behind a waypoint, for the `source_*` labels of metrics only (never for authorization). */
export interface ForwardedSource {
  /** `spiffe://<td>/ns/<ns>/sa/<sa>`, in the destination's trust domain. */
  readonly identity: string;
  /** The identity's namespace. */
  readonly namespace: string;
  readonly workload?: string;
  readonly canonicalService?: string;
}

export interface ForwardedFacts {
  /** The verified client certificate's SPIFFE id. */
  readonly peerIdentity: string;
  /** The CONNECT's `baggage`, as received. */
  readonly baggage?: string;
  /** The destination workload's trust domain: the mesh's. */
  readonly trustDomain: string;
}

/** A workload identity in Kubernetes' naming: namespace a DNS label, service account a DNS subdomain. */
const SPIFFE_WORKLOAD =
  /^spiffe:\/\/([a-z0-9._-]+)\/ns\/([a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?)\/sa\/([a-z0-9](?:[-a-z0-9.]{0,251}[a-z0-9])?)$/;
/** A Kubernetes object name (DNS subdomain). */
const OBJECT_NAME = /^[a-z0-9](?:[-a-z0-9.]{0,251}[a-z0-9])?$/;
/** A label value (Istio's canonical service name is one). */
const LABEL_VALUE = /^[A-Za-z0-9](?:[-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;

/**
 * The caller a waypoint forwarded in `baggage` (docs/identity-behind-waypoint.md), or undefined to label the peer
 * itself. Accepted, whole or not at all, only when:
 *  1. the peer is a waypoint identity the config knows (`index.isWaypointIdentity`): from any other peer the
 *     header is not even parsed, so a workload cannot pass itself off as another;
 *  2. the header parses as W3C baggage within its limits (`parseBaggage`);
 *  3. `k8s.source.principal` is a workload SPIFFE id in the mesh's trust domain;
 *  4. `k8s.source.namespace`, when sent, is that id's namespace, and `k8s.source.workload` and `service.name`, when
 *     sent, are a Kubernetes name and a label value.
 * Cost for a non-waypoint peer: one set lookup. Authorization never calls this; it sees the peer (DESIGN §8).
 */
export function forwardedSource(index: ZtunnelIndex, f: ForwardedFacts): ForwardedSource | undefined {
  if (f.baggage === undefined || !index.isWaypointIdentity(f.peerIdentity)) return undefined;
  const members = parseBaggage(f.baggage);
  const identity = members?.get(FORWARDED_KEYS.principal);
  const m = identity !== undefined ? SPIFFE_WORKLOAD.exec(identity) : null;
  if (!members || !identity || !m || m[1] !== f.trustDomain) return undefined;
  const namespace = m[2]!;
  const claimed = members.get(FORWARDED_KEYS.namespace);
  const workload = members.get(FORWARDED_KEYS.workload);
  const canonicalService = members.get(FORWARDED_KEYS.canonicalService);
  if (claimed !== undefined && claimed !== namespace) return undefined;
  if (workload !== undefined && !OBJECT_NAME.test(workload)) return undefined;
  if (canonicalService !== undefined && !LABEL_VALUE.test(canonicalService)) return undefined;
  return {
    identity,
    namespace,
    ...(workload !== undefined ? { workload } : {}),
    ...(canonicalService !== undefined ? { canonicalService } : {}),
  };
}
