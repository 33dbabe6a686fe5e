// Config from a file (STYLE §14, LOCAL_CONFIG_PATH): the JSON a config dump prints, plus the waypoint's
// `routeTables` and `destinationPolicies`, applied through the same two-phase path as a push (a bad record is
// rejected alone and named).
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import {
  applyPush,
  authorizationToProto,
  destinationPolicyToProto,
  EMPTY_STATE,
  routeTableToProto,
  serviceToProto,
  workloadToProto,
  type ProxyState,
  type Rejection,
} from '@ambit/config';
import { WaypointError } from '../errors.ts';

function list(doc: Record<string, unknown>, key: string, path: string): unknown[] {
  const v = doc[key] ?? [];
  if (!Array.isArray(v)) throw new WaypointError('ERR_WAYPOINT_SETTINGS', `${path}: "${key}" must be a list`);
  return v;
}

function encode<P>(kind: string, items: unknown[], toProto: (r: never) => P, rejected: Rejection[]): P[] {
  return items.flatMap((item, i) => {
    const id =
      (item as { id?: unknown; uid?: unknown } | null)?.id ?? (item as { uid?: unknown } | null)?.uid;
    try {
      return [toProto(item as never)];
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

export function parseStaticConfig(text: string, path: string): { state: ProxyState; rejected: Rejection[] } {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new WaypointError('ERR_WAYPOINT_SETTINGS', `${path}: not JSON`, { cause: err });
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    throw new WaypointError('ERR_WAYPOINT_SETTINGS', `${path}: expected an object of record lists`);
  }
  const d = doc as Record<string, unknown>;
  const rejected: Rejection[] = [];
  const applied = applyPush(EMPTY_STATE, {
    version: `file-${createHash('sha256').update(text).digest('hex').slice(0, 12)}`,
    full: true,
    workloads: encode('Workload', list(d, 'workloads', path), workloadToProto, rejected),
    services: encode('Service', list(d, 'services', path), serviceToProto, rejected),
    authorizations: encode('Authorization', list(d, 'authorizations', path), authorizationToProto, rejected),
    routeTables: encode('RouteTable', list(d, 'routeTables', path), routeTableToProto, rejected),
    destinationPolicies: encode(
      'DestinationPolicy',
      list(d, 'destinationPolicies', path),
      destinationPolicyToProto,
      rejected,
    ),
    removedWorkloads: [],
    removedServices: [],
    removedAuthorizations: [],
    removedRouteTables: [],
    removedDestinationPolicies: [],
  });
  return { state: applied.state, rejected: [...rejected, ...applied.rejected] };
}

export async function loadStaticConfig(path: string): Promise<{ state: ProxyState; rejected: Rejection[] }> {
  return parseStaticConfig(await readFile(path, 'utf8'), path);
}
