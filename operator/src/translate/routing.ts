// Joins the per-object routing translations into what waypoints receive (pure): one RouteTable and at most one
// DestinationPolicy per Service, plus every object's status. Rules of precedence between sources:
//  1. Gateway API routes (GRPCRoute, then HTTPRoute) attached to a Service take it over: a VirtualService for the same
//     Service is not used, and its status says so (Istio documents mixing them as undefined; we make it defined).
//  2. Several VirtualServices for one Service: their rules are concatenated oldest first (creationTimestamp, then
//     namespace/name), so an older object's rules win, as Istio's merge order does.
//  3. Several DestinationRules for one Service: the oldest is used; the others are reported.
//  4. An invalid object keeps its last good output in force (`previous`), and its status says so.
import type { DestinationPolicy, RouteTable, SourceRef } from '@ambit/config';
import type {
  DestinationRule,
  GRPCRoute,
  HTTPRoute,
  ReferenceGrant,
  VirtualService,
} from '@ambit/codegen/crds';
import { translateDestinationRule, type WorkloadLabels } from './destination-rule.ts';
import { emptyIngressTable, finishIngressTable, type RouteStatus } from './gateway-routes.ts';
import type { IngressGateways } from './ingress-attachment.ts';
import { translateGrpcRoutes } from './grpc-route.ts';
import { translateHttpRoutes } from './http-route.ts';
import { Reason, type ObjectStatus } from './status.ts';
import { serviceByHostIn, translateVirtualService, type ServiceRef } from './virtual-service.ts';

export interface RoutingSnapshot {
  readonly clusterDomain: string;
  readonly services: readonly ServiceRef[];
  /** The workloads behind a Service (`<ns>/<name>`) and their labels, for DestinationRule subsets. */
  readonly workloadsOf: (service: string) => readonly WorkloadLabels[];
  readonly virtualServices: readonly VirtualService[];
  readonly destinationRules: readonly DestinationRule[];
  readonly httpRoutes: readonly HTTPRoute[];
  readonly grpcRoutes: readonly GRPCRoute[];
  readonly referenceGrants: readonly ReferenceGrant[];
  /** Ingress Gateways of ours (classes `ambit`/`istio`), for routes with Gateway parents. @default none */
  readonly ingress?: IngressGateways;
}

/** What the last translation produced per object, so an invalid object's last good output stays in force. */
export interface RoutingMemo {
  readonly virtualServices: ReadonlyMap<string, readonly RouteTable[]>;
  readonly destinationRules: ReadonlyMap<string, DestinationPolicy>;
}

export interface RoutingTranslation {
  readonly routeTables: Map<string, RouteTable>;
  readonly destinationPolicies: Map<string, DestinationPolicy>;
  /** VirtualService and DestinationRule conditions (`status.conditions`). */
  readonly statuses: ObjectStatus[];
  /** HTTPRoute and GRPCRoute conditions per parent (`status.parents`). */
  readonly routeStatuses: RouteStatus[];
  readonly memo: RoutingMemo;
}

interface Aged {
  readonly metadata: {
    readonly creationTimestamp?: string;
    readonly namespace?: string;
    readonly name?: string;
  };
}

function oldestFirst(a: Aged, b: Aged): number {
  const ta = a.metadata.creationTimestamp ?? '';
  const tb = b.metadata.creationTimestamp ?? '';
  if (ta !== tb) return ta < tb ? -1 : 1;
  const ka = `${a.metadata.namespace ?? ''}/${a.metadata.name ?? ''}`;
  const kb = `${b.metadata.namespace ?? ''}/${b.metadata.name ?? ''}`;
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

const idOf = (o: Aged) => `${o.metadata.namespace ?? ''}/${o.metadata.name ?? ''}`;
const isInvalid = (s: ObjectStatus) => s.conditions.some((c) => c.reason === Reason.Invalid);

function mergeTables(into: Map<string, RouteTable>, t: RouteTable): void {
  const existing = into.get(t.id);
  if (!existing) {
    into.set(t.id, t);
    return;
  }
  const merged: RouteTable = {
    ...existing,
    protocol: existing.protocol === 'GRPC' || t.protocol === 'GRPC' ? 'GRPC' : 'HTTP',
    rules: [...existing.rules, ...t.rules],
    sources: [...existing.sources, ...t.sources],
  };
  // An ingress port's table: GRPCRoute and HTTPRoute rules share it, and its 404 must come after both.
  into.set(t.id, merged.gateway ? finishIngressTable(merged) : merged);
}

function note(object: SourceRef, message: string): ObjectStatus {
  return {
    object,
    conditions: [{ type: 'Accepted', status: 'False', reason: Reason.UnsupportedValue, message }],
  };
}

export function translateRouting(s: RoutingSnapshot, previous?: RoutingMemo): RoutingTranslation {
  const serviceByHost = serviceByHostIn(s.services, s.clusterDomain);
  const byId = new Map(s.services.map((x) => [`${x.namespace}/${x.name}`, x]));
  const routeCtx = {
    service: (ns: string, name: string) => byId.get(`${ns}/${name}`),
    referenceGrants: s.referenceGrants,
    ...(s.ingress ? { ingress: s.ingress } : {}),
  };
  const statuses: ObjectStatus[] = [];

  // Gateway API first (rule 1).
  const gamma = new Map<string, RouteTable>();
  const grpc = translateGrpcRoutes(s.grpcRoutes, routeCtx);
  const http = translateHttpRoutes(s.httpRoutes, routeCtx);
  for (const t of [...grpc.tables, ...http.tables]) mergeTables(gamma, t);

  // VirtualServices (rules 2 and 4).
  const vsTables = new Map<string, RouteTable>();
  const vsMemo = new Map<string, readonly RouteTable[]>();
  for (const vs of [...s.virtualServices].sort(oldestFirst)) {
    const t = translateVirtualService(vs, { clusterDomain: s.clusterDomain, serviceByHost });
    const kept = isInvalid(t.status) ? previous?.virtualServices.get(idOf(vs)) : undefined;
    const tables = kept ?? t.tables;
    vsMemo.set(idOf(vs), tables);
    statuses.push(t.status);
    for (const table of tables) {
      if (gamma.has(table.id)) {
        statuses.push(
          note(t.status.object, `service ${table.id} is routed by Gateway API routes, which take precedence`),
        );
        continue;
      }
      mergeTables(vsTables, table);
    }
    if (kept) statuses.push(note(t.status.object, 'the previous version stays in force'));
  }
  const routeTables = new Map([...vsTables, ...gamma]);
  // Every HTTP(S) listener port of an ingress Gateway gets a table, so a port without routes answers 404 rather
  // than refusing connections.
  for (const { gateway, port } of s.ingress?.listenerPorts?.() ?? []) {
    const id = `gateway:${gateway}:${port}`;
    if (!routeTables.has(id)) routeTables.set(id, emptyIngressTable(gateway, port));
  }

  // DestinationRules (rules 3 and 4).
  const destinationPolicies = new Map<string, DestinationPolicy>();
  const drMemo = new Map<string, DestinationPolicy>();
  for (const dr of [...s.destinationRules].sort(oldestFirst)) {
    const t = translateDestinationRule(dr, { serviceByHost, workloadsOf: s.workloadsOf });
    const policy = isInvalid(t.status) ? previous?.destinationRules.get(idOf(dr)) : t.policy;
    statuses.push(t.status);
    if (!policy) continue;
    drMemo.set(idOf(dr), policy);
    const owner = destinationPolicies.get(policy.id);
    if (owner) {
      statuses.push(
        note(
          t.status.object,
          `service ${policy.id} already has DestinationRule ${owner.source.namespace}/${owner.source.name} (older); this one is not used`,
        ),
      );
      continue;
    }
    destinationPolicies.set(policy.id, policy);
  }

  return {
    routeTables,
    destinationPolicies,
    statuses,
    routeStatuses: [...grpc.statuses, ...http.statuses],
    memo: { virtualServices: vsMemo, destinationRules: drMemo },
  };
}
