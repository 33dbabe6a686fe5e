// What the waypoint knows about one inbound CONNECT, for every request on it (definitions and pure builders): the
// connection's facts, and the `RequestScope` through which the shared request handler asks the waypoint's planner.
import type { ConnectionFacts, Workload } from '@ambit/config';
import { parseAddress, parseForwardedFor, type Connection } from '@ambit/hbone';
import { planRequest } from '../plan/request-plan.ts';
import { prefersH2, type Destination, type WaypointIndex } from '../state/waypoint-index.ts';
import type { ForwardedSource } from '../upstream/upstream-connector.ts';
import type { RequestScope } from './request-handler.ts';

export interface ConnectionContext {
  /** The CONNECT `:authority`. */
  readonly authority: string;
  readonly destination: Destination;
  /** The L4 facts every request's authorization starts from. */
  readonly conn: ConnectionFacts;
  /** The HBONE peer: the caller's identity, carried on to the destination for telemetry. */
  readonly source: ForwardedSource;
  /** The caller's workload record, when this waypoint's config has it (telemetry only). */
  readonly sourceWorkload?: Workload;
}

/** `spiffe://<td>/ns/<ns>/sa/<sa>` → its parts; undefined for anything else (not a workload identity). */
export function parseWorkloadIdentity(id: string): { principal: string; namespace: string } | undefined {
  const m = /^spiffe:\/\/([^/]+)\/ns\/([^/]+)\/sa\/([^/]+)$/.exec(id);
  return m ? { principal: id.slice('spiffe://'.length), namespace: m[2]! } : undefined;
}

/**
 * The facts of a CONNECT:
 *  1. the peer principal and namespace come from the verified client certificate (the source workload's: the
 *     source ztunnel presents it);
 *  2. the source IP is the `forwarded: for=` the source ztunnel sent, trusted only when the peer is a workload
 *     identity; otherwise the TCP peer address;
 *  3. the destination IP and port are the `:authority` (a Service VIP and Service port, or a pod IP and port).
 */
export function connectionContext(
  index: WaypointIndex,
  c: Connection,
  destination: Destination,
): ConnectionContext {
  const peer = parseWorkloadIdentity(c.peerIdentity);
  const peerIp = parseAddress(c.peerAddress)?.host ?? c.peerAddress;
  const forwarded = peer ? parseForwardedFor(c.headers.forwarded) : undefined;
  const sourceIp = forwarded ?? peerIp;
  const dst = parseAddress(c.authority);
  const sourceWorkload = index.workloadByIp(sourceIp);
  return {
    authority: c.authority,
    destination,
    conn: {
      sourceIp,
      destinationIp: dst?.host ?? destination.ip,
      destinationPort: dst?.port ?? 0,
      ...(peer ? { peer } : {}),
    },
    source: {
      identity: c.peerIdentity,
      ...(peer ? { namespace: peer.namespace } : {}),
      ...(sourceWorkload ? { workload: sourceWorkload.workloadName } : {}),
    },
    ...(sourceWorkload ? { sourceWorkload } : {}),
  };
}

/**
 * The waypoint as a front of the shared request handler: every request on the CONNECT is planned against its
 * destination under the config in force when it arrives (`index()`); it goes upstream as HTTP/2 when the caller
 * spoke HTTP/2 or the destination port asks for it; it is reported as `reporter="waypoint"` from the HBONE peer.
 */
export function waypointRequestScope(ctx: ConnectionContext, index: () => WaypointIndex): RequestScope {
  const { destination } = ctx;
  const src = ctx.sourceWorkload;
  const servicePort = destination.kind === 'service' ? destination.port : destination.servicePort;
  return {
    authority: ctx.authority,
    port: destination.kind === 'service' ? destination.port.port : destination.port,
    conn: ctx.conn,
    source: ctx.source,
    ...(destination.kind === 'service' ? { service: destination.service } : {}),
    telemetry: {
      labels: {
        reporter: 'waypoint',
        source_workload: src?.workloadName ?? 'unknown',
        source_canonical_service: src?.canonicalName ?? 'unknown',
        source_workload_namespace: src?.namespace ?? ctx.source.namespace ?? 'unknown',
        source_principal: ctx.source.identity,
        connection_security_policy: 'mutual_tls',
      },
      peerPrincipal: ctx.source.identity,
    },
    decide: (facts, rand) => {
      const current = index();
      return {
        plan: planRequest(current, destination, ctx.conn, facts, rand),
        workloads: current.state.workloads,
      };
    },
    upstreamH2: (request) => request.protocol === 'HTTP/2' || prefersH2(servicePort),
  };
}
