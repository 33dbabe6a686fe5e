// Config from a file (STYLE §14, ztunnel's LOCAL_XDS_PATH), for the ztunnel and the waypoint alike: the JSON
// `ambit config dump` prints (plus a waypoint's `routeTables` and `destinationPolicies`), applied through the same
// two-phase path as a push from the control plane, so a bad record is rejected alone and named.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { applyPush, EMPTY_STATE, type ProxyState, type Rejection } from './apply-push.ts';
import type { DestinationPolicy, RouteTable } from './l7-model.ts';
import type { Authorization, Service, Workload } from './model.ts';
import { authorizationToProto, serviceToProto, workloadToProto } from './wire.ts';
import { destinationPolicyToProto, routeTableToProto } from './wire-l7.ts';

export class StaticConfigError extends Error {
  readonly code = 'ERR_STATIC_CONFIG';
}

function records(doc: Record<string, unknown>, key: string, path: string): unknown[] {
  const v = doc[key] ?? [];
  if (!Array.isArray(v)) throw new StaticConfigError(`${path}: "${key}" must be a list`);
  return v;
}

/** Converts each record, rejecting (by index and id) those that are not records of their kind. */
function encode<T, P>(
  kind: string,
  items: unknown[],
  idOf: (r: Partial<T>) => unknown,
  toProto: (r: T) => P,
  rejected: Rejection[],
): P[] {
  return items.flatMap((item, i) => {
    const id = typeof item === 'object' && item !== null ? idOf(item) : undefined;
    try {
      return [toProto(item as T)];
    } catch (err) {
      rejected.push({
        kind,
        id: typeof id === 'string' ? id : `#${i}`,
        reason: `not a ${kind} record: ${err instanceof Error ? err.message : String(err)}`,
      });
      return [];
    }
  });
}

/** Parses and applies a config dump; the version is a hash of the file's bytes. */
export function parseStaticConfig(text: string, path: string): { state: ProxyState; rejected: Rejection[] } {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new StaticConfigError(`${path}: not JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    throw new StaticConfigError(`${path}: expected an object with workloads, services and authorizations`);
  }
  const d = doc as Record<string, unknown>;
  const rejected: Rejection[] = [];
  const push = {
    version: `file-${createHash('sha256').update(text).digest('hex').slice(0, 12)}`,
    full: true,
    workloads: encode<Workload, ReturnType<typeof workloadToProto>>(
      'Workload',
      records(d, 'workloads', path),
      (r) => r.uid,
      workloadToProto,
      rejected,
    ),
    services: encode<Service, ReturnType<typeof serviceToProto>>(
      'Service',
      records(d, 'services', path),
      (r) => r.id,
      serviceToProto,
      rejected,
    ),
    authorizations: encode<Authorization, ReturnType<typeof authorizationToProto>>(
      'Authorization',
      records(d, 'authorizations', path),
      (r) => r.id,
      authorizationToProto,
      rejected,
    ),
    routeTables: encode<RouteTable, ReturnType<typeof routeTableToProto>>(
      'RouteTable',
      records(d, 'routeTables', path),
      (r) => r.id,
      routeTableToProto,
      rejected,
    ),
    destinationPolicies: encode<DestinationPolicy, ReturnType<typeof destinationPolicyToProto>>(
      'DestinationPolicy',
      records(d, 'destinationPolicies', path),
      (r) => r.id,
      destinationPolicyToProto,
      rejected,
    ),
    removedWorkloads: [],
    removedServices: [],
    removedAuthorizations: [],
    removedRouteTables: [],
    removedDestinationPolicies: [],
  };
  const applied = applyPush(EMPTY_STATE, push);
  return { state: applied.state, rejected: [...rejected, ...applied.rejected] };
}

export async function loadStaticConfig(path: string): Promise<{ state: ProxyState; rejected: Rejection[] }> {
  return parseStaticConfig(await readFile(path, 'utf8'), path);
}
