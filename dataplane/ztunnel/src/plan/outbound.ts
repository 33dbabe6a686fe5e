// Where an outbound connection goes (STYLE §9): a pure decision from the config and the original destination,
// executed by the proxy layer. Order, as upstream ztunnel's `build_request`:
//  1. A Service VIP: with a waypoint fronting the Service, to the waypoint; else one ready endpoint, with the
//     Service port mapped to the pod port.
//  2. A pod IP: with a waypoint fronting the workload, to the waypoint.
//  3. A mesh workload (HBONE) on this node: delivered locally (no encryption, the same inbound policy); on another
//     node: HBONE to <pod IP>:15008, whose in-pod redirect hands it to that node's ztunnel.
//  4. Anything else (outside the mesh, unknown): passthrough, plain TCP to the original destination.
// A waypoint reference that resolves to nothing fails closed (the connection is refused) rather than bypassing L7.
import type { Service, Workload } from '@ambit/config';
import { spiffeIdOf, type ZtunnelIndex } from '../state/index-state.ts';

export const HBONE_PORT = 15008;

export interface Address {
  readonly ip: string;
  readonly port: number;
}

export type OutboundPlan =
  /** HBONE: dial `proxy` with mTLS expecting one of `identities`, CONNECT to `authority`. */
  | {
      readonly kind: 'hbone';
      readonly proxy: Address;
      /** The :authority: the final destination (pod IP and pod port, or the Service VIP and port via a waypoint). */
      readonly authority: Address;
      /** SPIFFE identities the peer certificate may carry. */
      readonly identities: readonly string[];
      /** The destination workload, when known (telemetry). */
      readonly destination?: Workload;
      readonly service?: Service;
      readonly viaWaypoint: boolean;
    }
  /** Same node: connect to the pod inside its own network namespace, after inbound policy. */
  | {
      readonly kind: 'local';
      readonly destination: Workload;
      readonly target: Address;
      readonly service?: Service;
    }
  /** Plain TCP to the original destination. */
  | { readonly kind: 'passthrough'; readonly target: Address }
  /** Refused: nothing may carry this connection (fail closed). */
  | { readonly kind: 'refuse'; readonly reason: string };

export interface PlanContext {
  readonly index: ZtunnelIndex;
  /** This ztunnel's node. */
  readonly node: string;
  /** Picks one of `n` candidates (load balancing); injected so tests are deterministic. */
  pick(n: number): number;
  /** Where peers take HBONE. @default HBONE_PORT (15008; tests on loopback use others) */
  readonly hbonePort?: number;
}

function waypointPlan(
  ctx: PlanContext,
  ref: { namespace: string; name: string },
  authority: Address,
  destination: Workload | undefined,
  service: Service | undefined,
): OutboundPlan {
  const wpService = ctx.index.serviceById(`${ref.namespace}/${ref.name}`);
  const endpoints = (wpService?.endpoints ?? [])
    .filter((e) => e.ready)
    .flatMap((e) => {
      const w = ctx.index.workloadByUid(e.workloadUid);
      return w?.addresses[0] ? [w] : [];
    });
  const chosen = endpoints[ctx.pick(endpoints.length)];
  if (!chosen?.addresses[0]) {
    return { kind: 'refuse', reason: `waypoint ${ref.namespace}/${ref.name} has no ready endpoint` };
  }
  return {
    kind: 'hbone',
    proxy: { ip: chosen.addresses[0], port: ctx.hbonePort ?? HBONE_PORT },
    authority,
    identities: [spiffeIdOf(chosen)],
    ...(destination ? { destination } : {}),
    ...(service ? { service } : {}),
    viaWaypoint: true,
  };
}

function workloadPlan(
  ctx: PlanContext,
  w: Workload,
  target: Address,
  service: Service | undefined,
): OutboundPlan {
  if (w.protocol !== 'HBONE') return { kind: 'passthrough', target };
  if (w.node === ctx.node) return { kind: 'local', destination: w, target, ...(service ? { service } : {}) };
  return {
    kind: 'hbone',
    proxy: { ip: target.ip, port: ctx.hbonePort ?? HBONE_PORT },
    authority: target,
    identities: [spiffeIdOf(w)],
    destination: w,
    ...(service ? { service } : {}),
    viaWaypoint: false,
  };
}

/**
 * Plans an outbound connection from `source` (a workload on this node) to its original destination. The source
 * is never sent back to itself through a waypoint: a waypoint's own outbound traffic goes straight on.
 */
export function planOutbound(ctx: PlanContext, source: Workload, dst: Address): OutboundPlan {
  const service = ctx.index.serviceByVip(dst.ip);
  if (service) {
    const isWaypointItself =
      service.waypoint &&
      source.namespace === service.waypoint.namespace &&
      source.workloadName === service.waypoint.name;
    if (service.waypoint && !isWaypointItself)
      return waypointPlan(ctx, service.waypoint, dst, undefined, service);
    const port = service.ports.find((p) => p.port === dst.port);
    if (!port) return { kind: 'passthrough', target: dst };
    const candidates = service.endpoints.flatMap((e) => {
      const w = e.ready ? ctx.index.workloadByUid(e.workloadUid) : undefined;
      const podPort = e.ports[dst.port];
      return w?.addresses[0] && podPort !== undefined ? [{ w, podPort }] : [];
    });
    const chosen = candidates[ctx.pick(candidates.length)];
    if (!chosen)
      return { kind: 'refuse', reason: `service ${service.id} has no ready endpoint for port ${dst.port}` };
    return workloadPlan(ctx, chosen.w, { ip: chosen.w.addresses[0] ?? '', port: chosen.podPort }, service);
  }
  const w = ctx.index.workloadByIp(dst.ip);
  if (!w) return { kind: 'passthrough', target: dst };
  if (w.waypoint && w.protocol === 'HBONE') return waypointPlan(ctx, w.waypoint, dst, w, undefined);
  return workloadPlan(ctx, w, dst, undefined);
}
