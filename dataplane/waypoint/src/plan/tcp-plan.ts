// The decision for a connection the waypoint does not parse (a TCP port, or bytes that are not HTTP on a port
// left to detection): L4 authorization, then one endpoint of the Service's default route for the whole connection.
import { authorize, type Authorization, type ConnectionFacts, type Decision } from '@ambit/config';
import type { Destination, WaypointIndex } from '../state/waypoint-index.ts';
import { clusterForDestination, type ClusterPlan } from './request-plan.ts';

/**
 * The policies as they act on a connection without requests (DESIGN §7/§8, as at ztunnel): an ALLOW rule with any
 * L7 field is dropped (it can only allow requests it can see); a DENY keeps its rules and `authorize` ignores their
 * L7 halves, so it denies its whole L4 scope (fail closed).
 */
export function l4Policies(policies: readonly Authorization[]): Authorization[] {
  return policies.map((p) =>
    p.action === 'Deny'
      ? p
      : {
          ...p,
          rules: p.rules.filter((r) => r.allOf.every((a) => a.matches.every((m) => m.l7 === undefined))),
        },
  );
}

export type TcpPlan =
  | { readonly kind: 'deny'; readonly decision: Extract<Decision, { allowed: false }> }
  | { readonly kind: 'forward'; readonly cluster: ClusterPlan };

export function planTcp(index: WaypointIndex, destination: Destination, conn: ConnectionFacts): TcpPlan {
  const namespace =
    destination.kind === 'service' ? destination.service.namespace : destination.workload.namespace;
  const decision = authorize(
    l4Policies(
      index.policiesFor(namespace, destination.kind === 'service' ? destination.service.id : undefined),
    ),
    conn,
  );
  if (!decision.allowed) return { kind: 'deny', decision };
  return { kind: 'forward', cluster: clusterForDestination(index, destination) };
}
