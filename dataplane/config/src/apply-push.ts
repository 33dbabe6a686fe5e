// Applies one config push to a proxy's state in two phases (STYLE §7): decode and check every record off to the
// side, so a bad record rejects only itself; then build the new immutable state at once. A rejected record keeps
// its last good version (or stays absent).
import type * as pb from '@ambit/codegen/proto';
import type { DestinationPolicy, RouteTable } from './l7-model.ts';
import type { Authorization, Service, Workload } from './model.ts';
import { destinationPolicyFromProto, routeTableFromProto } from './wire-l7.ts';
import { RecordError, authorizationFromProto, serviceFromProto, workloadFromProto } from './wire.ts';

/** What a proxy holds; immutable, replaced whole on every push. */
export interface ProxyState {
  readonly version: string;
  readonly workloads: ReadonlyMap<string, Workload>;
  readonly services: ReadonlyMap<string, Service>;
  readonly authorizations: ReadonlyMap<string, Authorization>;
  /** Waypoints only. */
  readonly routeTables: ReadonlyMap<string, RouteTable>;
  readonly destinationPolicies: ReadonlyMap<string, DestinationPolicy>;
}

export const EMPTY_STATE: ProxyState = {
  version: '',
  workloads: new Map(),
  services: new Map(),
  authorizations: new Map(),
  routeTables: new Map(),
  destinationPolicies: new Map(),
};

export interface Rejection {
  readonly kind: string;
  readonly id: string;
  readonly reason: string;
}

function applyKind<M, T>(
  kind: string,
  current: ReadonlyMap<string, T>,
  full: boolean,
  changed: readonly M[],
  removed: readonly string[],
  idOf: (m: M) => string,
  decode: (m: M) => T,
  rejected: Rejection[],
): Map<string, T> {
  const decoded = new Map<string, T>();
  const bad = new Set<string>();
  for (const m of changed) {
    try {
      decoded.set(idOf(m), decode(m));
    } catch (err) {
      const reason = err instanceof RecordError ? err.message : `undecodable: ${String(err)}`;
      rejected.push({ kind, id: idOf(m), reason });
      bad.add(idOf(m));
    }
  }
  const next = new Map<string, T>();
  if (!full) for (const [id, v] of current) next.set(id, v);
  for (const id of removed) next.delete(id);
  for (const [id, v] of decoded) next.set(id, v);
  for (const id of bad) {
    const old = current.get(id);
    if (old !== undefined) next.set(id, old);
  }
  return next;
}

export function applyPush(
  state: ProxyState,
  push: pb.SubscribeResponse,
): { state: ProxyState; rejected: Rejection[] } {
  const rejected: Rejection[] = [];
  const next: ProxyState = {
    version: push.version,
    workloads: applyKind(
      'Workload',
      state.workloads,
      push.full,
      push.workloads,
      push.removedWorkloads,
      (m) => m.uid,
      workloadFromProto,
      rejected,
    ),
    services: applyKind(
      'Service',
      state.services,
      push.full,
      push.services,
      push.removedServices,
      (m) => m.id,
      serviceFromProto,
      rejected,
    ),
    authorizations: applyKind(
      'Authorization',
      state.authorizations,
      push.full,
      push.authorizations,
      push.removedAuthorizations,
      (m) => m.id,
      authorizationFromProto,
      rejected,
    ),
    routeTables: applyKind(
      'RouteTable',
      state.routeTables,
      push.full,
      push.routeTables,
      push.removedRouteTables,
      (m) => m.id,
      routeTableFromProto,
      rejected,
    ),
    destinationPolicies: applyKind(
      'DestinationPolicy',
      state.destinationPolicies,
      push.full,
      push.destinationPolicies,
      push.removedDestinationPolicies,
      (m) => m.id,
      destinationPolicyFromProto,
      rejected,
    ),
  };
  return { state: next, rejected };
}
