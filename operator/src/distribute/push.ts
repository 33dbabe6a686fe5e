// Builds the protocol message for one push from two versions of a proxy's records (pure).
import type * as pb from '@ambit/codegen/proto';
import {
  authorizationToProto,
  destinationPolicyToProto,
  routeTableToProto,
  serviceToProto,
  workloadToProto,
} from '@ambit/config';
import { diffConfig, type DiffHints } from './delta.ts';
import type { ProxyConfig } from './scope.ts';

/**
 * One protocol form per record object, shared by every subscriber's push: a full snapshot to a thousand ztunnels
 * converts each record once, not once per ztunnel. Records are immutable, so the form never goes stale; the
 * WeakMap lets it go with the record.
 */
function memoized<T extends object, P>(convert: (record: T) => P): (record: T) => P {
  const forms = new WeakMap<T, P>();
  return (record) => {
    let form = forms.get(record);
    if (form === undefined) forms.set(record, (form = convert(record)));
    return form;
  };
}
const workloadForm = memoized(workloadToProto);
const serviceForm = memoized(serviceToProto);
const authorizationForm = memoized(authorizationToProto);

/** All records of a map in protocol form; ztunnels share the workload and service maps, so one list serves all. */
function listed<T extends object, P>(form: (record: T) => P): (records: ReadonlyMap<string, T>) => P[] {
  const lists = new WeakMap<ReadonlyMap<string, T>, P[]>();
  return (records) => {
    let list = lists.get(records);
    if (list === undefined) lists.set(records, (list = [...records.values()].map(form)));
    return list;
  };
}
const allWorkloads = listed(workloadForm);
const allServices = listed(serviceForm);

/**
 * The message that takes a proxy from `from` (what it holds) to `to`; `full` sends everything. `hints` narrow the
 * comparison to the ids that can have changed (see change-journal.ts).
 */
export function buildPush(
  version: string,
  from: ProxyConfig,
  to: ProxyConfig,
  full: boolean,
  hints?: DiffHints,
): pb.SubscribeResponse {
  if (full) {
    return {
      version,
      full: true,
      workloads: allWorkloads(to.workloads),
      services: allServices(to.services),
      authorizations: [...to.authorizations.values()].map(authorizationForm),
      routeTables: [...(to.routeTables?.values() ?? [])].map(routeTableToProto),
      destinationPolicies: [...(to.destinationPolicies?.values() ?? [])].map(destinationPolicyToProto),
      removedWorkloads: [],
      removedServices: [],
      removedAuthorizations: [],
      removedRouteTables: [],
      removedDestinationPolicies: [],
    };
  }
  const d = diffConfig(from, to, hints);
  return {
    version,
    full: false,
    workloads: d.workloads.changed.map((id) => workloadForm(to.workloads.get(id)!)),
    services: d.services.changed.map((id) => serviceForm(to.services.get(id)!)),
    authorizations: d.authorizations.changed.map((id) => authorizationForm(to.authorizations.get(id)!)),
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
