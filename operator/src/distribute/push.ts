// Builds the protocol message for one push from two versions of a proxy's records (pure).
import type * as pb from '@ambit/codegen/proto';
import {
  authorizationToProto,
  destinationPolicyToProto,
  routeTableToProto,
  serviceToProto,
  workloadToProto,
} from '@ambit/config';
import { diffConfig } from './delta.ts';
import type { ProxyConfig } from './scope.ts';

/** The message that takes a proxy from `from` (what it holds) to `to`; `full` sends everything. */
export function buildPush(
  version: string,
  from: ProxyConfig,
  to: ProxyConfig,
  full: boolean,
): pb.SubscribeResponse {
  if (full) {
    return {
      version,
      full: true,
      workloads: [...to.workloads.values()].map(workloadToProto),
      services: [...to.services.values()].map(serviceToProto),
      authorizations: [...to.authorizations.values()].map(authorizationToProto),
      routeTables: [...(to.routeTables?.values() ?? [])].map(routeTableToProto),
      destinationPolicies: [...(to.destinationPolicies?.values() ?? [])].map(destinationPolicyToProto),
      removedWorkloads: [],
      removedServices: [],
      removedAuthorizations: [],
      removedRouteTables: [],
      removedDestinationPolicies: [],
    };
  }
  const d = diffConfig(from, to);
  return {
    version,
    full: false,
    workloads: d.workloads.changed.map((id) => workloadToProto(to.workloads.get(id)!)),
    services: d.services.changed.map((id) => serviceToProto(to.services.get(id)!)),
    authorizations: d.authorizations.changed.map((id) => authorizationToProto(to.authorizations.get(id)!)),
    removedWorkloads: [...d.workloads.removed],
    removedServices: [...d.services.removed],
    removedAuthorizations: [...d.authorizations.removed],
    routeTables: d.routeTables.changed.map((id) => routeTableToProto(to.routeTables!.get(id)!)),
    destinationPolicies: d.destinationPolicies.changed.map((id) =>
      destinationPolicyToProto(to.destinationPolicies!.get(id)!),
    ),
    removedRouteTables: [...d.routeTables.removed],
    removedDestinationPolicies: [...d.destinationPolicies.removed],
  };
}

/** Whether a push carries nothing (a delta with no change is not sent). */
export function isEmptyPush(p: pb.SubscribeResponse): boolean {
  return (
    !p.full &&
    p.workloads.length + p.services.length + p.authorizations.length === 0 &&
    p.routeTables.length + p.destinationPolicies.length === 0 &&
    p.removedWorkloads.length + p.removedServices.length + p.removedAuthorizations.length === 0 &&
    p.removedRouteTables.length + p.removedDestinationPolicies.length === 0
  );
}

/**
 * What the proxy holds after rejecting some records of a push that took it from `before` towards `sent`: every
 * rejected record stays as it was before (or absent), the rest as sent. The next delta is computed from this.
 */
export function afterRejection(
  before: ProxyConfig,
  sent: ProxyConfig,
  rejected: readonly { kind: string; id: string }[],
): ProxyConfig {
  const revert = <T>(kind: string, b: ReadonlyMap<string, T>, s: ReadonlyMap<string, T>): Map<string, T> => {
    const out = new Map(s);
    for (const r of rejected) {
      if (r.kind !== kind) continue;
      const old = b.get(r.id);
      if (old === undefined) out.delete(r.id);
      else out.set(r.id, old);
    }
    return out;
  };
  return {
    workloads: revert('Workload', before.workloads, sent.workloads),
    services: revert('Service', before.services, sent.services),
    authorizations: revert('Authorization', before.authorizations, sent.authorizations),
    routeTables: revert('RouteTable', before.routeTables ?? new Map(), sent.routeTables ?? new Map()),
    destinationPolicies: revert(
      'DestinationPolicy',
      before.destinationPolicies ?? new Map(),
      sent.destinationPolicies ?? new Map(),
    ),
  };
}
