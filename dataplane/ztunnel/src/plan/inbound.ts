// Whether an inbound connection may reach a pod on this node (STYLE §10): the destination workload's policies and
// its mTLS mode, evaluated by the one pure `authorize` of @ambit/config. Called at accept, and again for every open
// connection when a push changes policy (a connection no longer allowed is closed).
import { authorize, type Decision, type Workload } from '@ambit/config';
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
