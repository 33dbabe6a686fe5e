// Joins the per-kind translations into the whole dataplane config and every object's status (a pure function of
// a typed snapshot of the cluster and the previous result).
//
// Invariants:
//  1. Every user policy gets exactly one status entry saying whether and where it is enforced.
//  2. An AuthorizationPolicy that is wrong in meaning keeps its previous good record in force (if any) and says so.
//  3. Every condition that says False also appears in the Mesh warnings.
import type { Authorization, DestinationPolicy, RouteTable, Service, Workload } from '@ambit/config';
import type {
  DestinationRule,
  GRPCRoute,
  HTTPRoute,
  ReferenceGrant,
  VirtualService,
  AuthorizationPolicy,
  Gateway,
  PeerAuthentication,
} from '@ambit/codegen/crds';
import type { V1EndpointSlice, V1Namespace, V1Pod, V1Service } from '@kubernetes/client-node';
import { translateAuthorizationPolicy } from './authorization-policy.ts';
import { translateWaypointPolicy } from './waypoint-policy.ts';
import {
  USE_WAYPOINT_LABEL,
  WAYPOINT_FOR_LABEL,
  type WaypointBinding,
  type WaypointFor,
  type WaypointLookup,
} from './enrollment.ts';
import { effectiveMtls, peerAuthenticationIssues } from './peer-authentication.ts';
import type { RouteStatus } from './gateway-routes.ts';
import type { IngressGateways } from './ingress-attachment.ts';
import { translateRouting, type RoutingMemo } from './routing.ts';
import { translateService, type ServiceTranslation } from './service.ts';
import {
  ACCEPTED,
  Reason,
  WAYPOINT_ACCEPTED,
  ZTUNNEL_ACCEPTED,
  warningsFrom,
  type ConditionData,
  type MeshWarning,
  type ObjectStatus,
} from './status.ts';
import { translateWorkload, type WorkloadTranslation } from './workload.ts';

/** GatewayClasses whose Gateways are waypoints (DESIGN §3). */
export const WAYPOINT_CLASSES: readonly string[] = ['ambit-waypoint', 'istio-waypoint'];
/** GatewayClasses whose Gateways are ingress gateways (DESIGN §3). */
export const INGRESS_CLASSES: readonly string[] = ['ambit', 'istio'];

export interface MeshSettings {
  readonly trustDomain: string;
  readonly rootNamespace: string;
  readonly clusterDomain: string;
}

export interface ClusterSnapshot {
  readonly mesh: MeshSettings;
  readonly namespaces: readonly V1Namespace[];
  readonly pods: readonly V1Pod[];
  readonly services: readonly V1Service[];
  readonly endpointSlices: readonly V1EndpointSlice[];
  readonly gateways: readonly Gateway[];
  readonly authorizationPolicies: readonly AuthorizationPolicy[];
  readonly peerAuthentications: readonly PeerAuthentication[];
  /** Routing for waypoints (absent: none). */
  readonly virtualServices?: readonly VirtualService[];
  readonly destinationRules?: readonly DestinationRule[];
  readonly httpRoutes?: readonly HTTPRoute[];
  readonly grpcRoutes?: readonly GRPCRoute[];
  readonly referenceGrants?: readonly ReferenceGrant[];
}

export interface PolicySelector {
  readonly namespace: string;
  readonly labels: Readonly<Record<string, string | undefined>>;
}

export interface ClusterConfig {
  readonly workloads: ReadonlyMap<string, Workload>;
  readonly services: ReadonlyMap<string, Service>;
  readonly authorizations: ReadonlyMap<string, Authorization>;
  /** The selector of each WorkloadSelector-scoped authorization in force (kept with it when it goes invalid). */
  readonly policySelectors: ReadonlyMap<string, PolicySelector>;
  readonly statuses: readonly ObjectStatus[];
  readonly warnings: readonly MeshWarning[];
  /** targetRefs policies, as waypoints enforce them (waypoint-policy.ts); never sent to a ztunnel. */
  readonly waypointAuthorizations: ReadonlyMap<string, Authorization>;
  /** What waypoints receive besides workloads and services (routing.ts). */
  readonly routeTables: ReadonlyMap<string, RouteTable>;
  readonly destinationPolicies: ReadonlyMap<string, DestinationPolicy>;
  /** HTTPRoute/GRPCRoute conditions per parent. */
  readonly routeStatuses: readonly RouteStatus[];
  readonly routingMemo: RoutingMemo;
  /** What produced each record, so the next translation can reuse records whose inputs did not change. */
  readonly memo: TranslationMemo;
}

/**
 * Inputs by identity: informer caches hand out the same object until it changes, so "same reference" means
 * "unchanged". Records are reused only when their own inputs and the shared context (mesh settings, namespaces,
 * gateways, policies) are all unchanged; anything else is recomputed. Cost of a change to one pod: one pod's
 * translation plus O(objects) reference comparisons, instead of a full translation.
 */
export interface TranslationMemo {
  readonly context: readonly (readonly unknown[])[];
  readonly mesh: MeshSettings;
  /** Identity of the context (mesh, namespaces, gateways, policies) the cached pod translations belong to. */
  readonly generation: object;
  /**
   * Pod translations by pod object, shared by successive versions: a cache, never read for an entry of another
   * generation, so sharing it cannot change a result; a WeakMap lets deleted pods' entries go. Shared rather than
   * rebuilt because at 200k pods rebuilding a map per change cost more than the translation it saves.
   */
  readonly pods: WeakMap<object, { readonly generation: object; readonly result: WorkloadTranslation }>;
  readonly services: ReadonlyMap<
    string,
    { svc: V1Service; slices: readonly V1EndpointSlice[]; result: ServiceTranslation }
  >;
}

function sameRefs(a: readonly unknown[], b: readonly unknown[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

const key = (namespace: string | undefined, name: string | undefined) => `${namespace ?? ''}/${name ?? ''}`;

function waypointLookup(gateways: readonly Gateway[]): WaypointLookup {
  const byKey = new Map<string, WaypointFor>();
  for (const g of gateways) {
    if (!WAYPOINT_CLASSES.includes(g.spec.gatewayClassName)) continue;
    const label = g.metadata.labels?.[WAYPOINT_FOR_LABEL];
    const serves: WaypointFor =
      label === 'workload' || label === 'all' || label === 'none' ? label : 'service';
    byKey.set(key(g.metadata.namespace, g.metadata.name), serves);
  }
  return { waypointFor: (ref) => byKey.get(key(ref.namespace, ref.name)) };
}

/** The Gateways of our ingress classes, for routes with Gateway parents (ingress-attachment.ts). */
function ingressGateways(
  gateways: readonly Gateway[],
  namespaceLabels: (name: string) => Readonly<Record<string, string>> | undefined,
): IngressGateways {
  const byKey = new Map(
    gateways
      .filter((g) => INGRESS_CLASSES.includes(g.spec.gatewayClassName))
      .map((g) => [key(g.metadata.namespace, g.metadata.name), g]),
  );
  return {
    gateway: (ns, name) => byKey.get(key(ns, name)),
    namespaceLabels,
    listenerPorts: () =>
      [...byKey].flatMap(([id, g]) =>
        [
          ...new Set(
            g.spec.listeners
              .filter((l) => l.protocol === 'HTTP' || l.protocol === 'HTTPS')
              .map((l) => l.port),
          ),
        ].map((port) => ({ gateway: id, port })),
      ),
  };
}

/** Count of routes attached to each listener of each ingress Gateway: `<ns>/<gateway>` → listener → count. */
export function attachedRouteCounts(statuses: readonly RouteStatus[]): Map<string, Map<string, number>> {
  const out = new Map<string, Map<string, number>>();
  for (const s of statuses) {
    for (const p of s.parents) {
      if (!p.attached) continue;
      let listeners = out.get(p.attached.gateway);
      if (!listeners) out.set(p.attached.gateway, (listeners = new Map<string, number>()));
      for (const l of p.attached.listeners) listeners.set(l, (listeners.get(l) ?? 0) + 1);
    }
  }
  return out;
}

function groupBy<T>(items: Iterable<T>, keyOf: (item: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const item of items) {
    const k = keyOf(item);
    const list = out.get(k);
    if (list) list.push(item);
    else out.set(k, [item]);
  }
  return out;
}

/** The status of a Service or pod labelled for a waypoint that cannot serve it, if so. */
function unresolvedWaypointStatus(
  object: ObjectStatus['object'],
  binding: WaypointBinding,
): ObjectStatus | undefined {
  if (binding.kind !== 'unresolved') return undefined;
  return {
    object,
    conditions: [condition(WAYPOINT_ACCEPTED, false, Reason.WaypointNotFound, binding.message)],
  };
}

function condition(type: string, ok: boolean, reason: Reason, message: string): ConditionData {
  return { type, status: ok ? 'True' : 'False', reason, message };
}

function policyRef(ap: AuthorizationPolicy) {
  return {
    group: 'security.istio.io',
    kind: 'AuthorizationPolicy',
    namespace: ap.metadata.namespace ?? '',
    name: ap.metadata.name ?? '',
  };
}

/**
 * Where a targetRefs policy is enforced: each target must be a Service bound to a waypoint, a waypoint itself, or
 * an ingress Gateway of ours (its gateway proxy enforces it).
 */
function waypointCondition(
  ap: AuthorizationPolicy,
  services: ReadonlyMap<string, { binding: WaypointBinding }>,
  waypoints: WaypointLookup,
  ingress: IngressGateways,
): ConditionData {
  const spec = ap.spec ?? {};
  const refs = [...(spec.targetRefs ?? []), ...(spec.targetRef ? [spec.targetRef] : [])];
  const ns = ap.metadata.namespace ?? '';
  const problems: string[] = [];
  let targetMissing = false;
  const enforcedBy = new Set<string>();
  const gateways = new Set<string>();
  for (const ref of refs) {
    const target = `${ref.kind} ${ns}/${ref.name}`;
    if (ref.kind === 'Service' && (ref.group ?? '') === '') {
      const svc = services.get(key(ns, ref.name));
      if (!svc) {
        targetMissing = true;
        problems.push(`${target} not found`);
      } else if (svc.binding.kind !== 'bound')
        problems.push(`${target} has no waypoint: label it ${USE_WAYPOINT_LABEL}`);
      else enforcedBy.add(key(svc.binding.waypoint.namespace, svc.binding.waypoint.name));
    } else if (ref.kind === 'Gateway') {
      if (waypoints.waypointFor({ namespace: ns, name: ref.name }) !== undefined)
        enforcedBy.add(key(ns, ref.name));
      else if (ingress.gateway(ns, ref.name)) gateways.add(key(ns, ref.name));
      else problems.push(`${target} is not a waypoint or an ingress Gateway of Ambit's classes`);
    } else {
      problems.push(`${target}: targetRefs kind ${ref.kind} is not supported (use Service or Gateway)`);
    }
  }
  if (problems.length > 0) {
    const reason = targetMissing ? Reason.TargetNotFound : Reason.NoWaypoint;
    return condition(WAYPOINT_ACCEPTED, false, reason, `not enforced for: ${problems.join('; ')}`);
  }
  const where = [
    ...(enforcedBy.size > 0 ? [`waypoint ${[...enforcedBy].sort().join(', ')}`] : []),
    ...(gateways.size > 0 ? [`gateway ${[...gateways].sort().join(', ')}`] : []),
  ];
  return condition(WAYPOINT_ACCEPTED, true, Reason.Accepted, `enforced by ${where.join('; ')}`);
}

export function translateCluster(snapshot: ClusterSnapshot, previous?: ClusterConfig): ClusterConfig {
  const { mesh } = snapshot;
  const context = [
    snapshot.namespaces,
    snapshot.gateways,
    snapshot.authorizationPolicies,
    snapshot.peerAuthentications,
  ];
  const memo = previous?.memo;
  const reusable =
    memo !== undefined &&
    JSON.stringify(memo.mesh) === JSON.stringify(mesh) &&
    context.every((c, i) => sameRefs(c, memo.context[i] ?? []));
  // A new context gets a new generation (an identity, so two contexts never share one).
  const generation = reusable ? memo.generation : {};
  const podCache = memo?.pods ?? new WeakMap<object, { generation: object; result: WorkloadTranslation }>();
  const serviceMemo = new Map<
    string,
    { svc: V1Service; slices: readonly V1EndpointSlice[]; result: ServiceTranslation }
  >();
  const nsLabels = new Map(
    snapshot.namespaces.map((n) => [n.metadata?.name ?? '', n.metadata?.labels ?? {}]),
  );
  const namespaceLabels = (name: string) => nsLabels.get(name);
  const waypoints = waypointLookup(snapshot.gateways);
  const ingress = ingressGateways(snapshot.gateways, namespaceLabels);
  const statuses: ObjectStatus[] = [];

  // Services first: targetRefs policies need their waypoint bindings.
  const slicesByService = new Map<string, V1EndpointSlice[]>();
  for (const s of snapshot.endpointSlices) {
    const k = key(s.metadata?.namespace, s.metadata?.labels?.['kubernetes.io/service-name']);
    const list = slicesByService.get(k);
    if (list) list.push(s);
    else slicesByService.set(k, [s]);
  }
  const services = new Map<string, Service>();
  const serviceBindings = new Map<string, { binding: WaypointBinding }>();
  for (const svc of snapshot.services) {
    const k = key(svc.metadata?.namespace, svc.metadata?.name);
    const slices = slicesByService.get(k) ?? [];
    const cached = reusable ? memo.services.get(k) : undefined;
    const t =
      cached && cached.svc === svc && sameRefs(cached.slices, slices)
        ? cached.result
        : translateService(svc, slices, { clusterDomain: mesh.clusterDomain, namespaceLabels, waypoints });
    serviceMemo.set(k, { svc, slices, result: t });
    if (t.kind !== 'service') continue;
    services.set(t.record.id, t.record);
    serviceBindings.set(k, { binding: t.waypoint });
    const unresolved = unresolvedWaypointStatus(t.record.source, t.waypoint);
    if (unresolved) statuses.push(unresolved);
  }

  // Authorization.
  const authorizations = new Map<string, Authorization>();
  const waypointAuthorizations = new Map<string, Authorization>();
  const policySelectors = new Map<string, PolicySelector>();
  for (const ap of snapshot.authorizationPolicies) {
    const t = translateAuthorizationPolicy(ap, { rootNamespace: mesh.rootNamespace });
    const object = policyRef(ap);
    const id = key(object.namespace, object.name);
    switch (t.kind) {
      case 'ztunnel': {
        authorizations.set(id, t.record);
        if (t.record.scope === 'WorkloadSelector') {
          policySelectors.set(id, {
            namespace: object.namespace,
            labels: ap.spec?.selector?.matchLabels ?? {},
          });
        }
        const ok = t.notes.length === 0;
        const message = ok
          ? 'enforced by ztunnel'
          : t.notes.map((n) => `${n.field}: ${n.message}`).join('; ');
        statuses.push({
          object,
          conditions: [
            condition(ZTUNNEL_ACCEPTED, ok, ok ? Reason.Accepted : Reason.UnsupportedValue, message),
          ],
        });
        break;
      }
      case 'waypoint': {
        const w = translateWaypointPolicy(ap);
        if (w.kind === 'waypoint') {
          waypointAuthorizations.set(id, w.record);
          const base = waypointCondition(ap, serviceBindings, waypoints, ingress);
          const extra = w.notes.map((n) => `${n.field}: ${n.message}`).join('; ');
          statuses.push({
            object,
            conditions: [
              extra && base.status === 'True'
                ? { ...base, reason: Reason.UnsupportedValue, message: `${base.message}; ${extra}` }
                : base,
            ],
          });
        } else if (w.kind === 'not-enforced') {
          statuses.push({
            object,
            conditions: [condition(ACCEPTED, false, Reason.UnsupportedValue, w.message)],
          });
        } else {
          const kept = previous?.waypointAuthorizations.get(id);
          if (kept) waypointAuthorizations.set(id, kept);
          const errors = w.errors.map((e) => `${e.field}: ${e.message}`).join('; ');
          const suffix = kept ? '; the previous version stays in force' : '; nothing of it is enforced';
          statuses.push({
            object,
            conditions: [condition(ACCEPTED, false, Reason.Invalid, `${errors}${suffix}`)],
          });
        }
        break;
      }
      case 'not-enforced':
        statuses.push({
          object,
          conditions: [
            condition(
              ACCEPTED,
              false,
              t.reason === 'DryRun' ? Reason.DryRun : Reason.UnsupportedValue,
              t.message,
            ),
          ],
        });
        break;
      case 'invalid': {
        const kept = previous?.authorizations.get(id);
        const keptSelector = previous?.policySelectors.get(id);
        if (kept) authorizations.set(id, kept);
        if (kept && keptSelector) policySelectors.set(id, keptSelector);
        const errors = t.errors.map((e) => `${e.field}: ${e.message}`).join('; ');
        const suffix = kept ? '; the previous version stays in force' : '; nothing of it is enforced';
        statuses.push({
          object,
          conditions: [condition(ACCEPTED, false, Reason.Invalid, `${errors}${suffix}`)],
        });
        break;
      }
    }
  }
  // Indexed by namespace: a pod only meets the selectors of its namespace and the root namespace.
  const selectorsByNs = groupBy([...policySelectors], ([, p]) => p.namespace);
  const selectingPolicies = (namespace: string, labels: Readonly<Record<string, string>>) =>
    [
      ...(selectorsByNs.get(namespace) ?? []),
      ...(namespace === mesh.rootNamespace ? [] : (selectorsByNs.get(mesh.rootNamespace) ?? [])),
    ]
      .filter(([, p]) => Object.entries(p.labels).every(([k, v]) => labels[k] === v))
      .map(([id]) => id)
      .sort();

  // PeerAuthentication: resolved per workload below; report what has no effect.
  for (const pa of snapshot.peerAuthentications) {
    const issues = peerAuthenticationIssues(pa, mesh.rootNamespace);
    const object = {
      group: 'security.istio.io',
      kind: 'PeerAuthentication',
      namespace: pa.metadata.namespace ?? '',
      name: pa.metadata.name ?? '',
    };
    statuses.push({
      object,
      conditions: [
        issues.length === 0
          ? condition(ZTUNNEL_ACCEPTED, true, Reason.Accepted, 'enforced by ztunnel')
          : condition(ZTUNNEL_ACCEPTED, false, Reason.UnsupportedValue, issues.join('; ')),
      ],
    });
  }

  // Workloads.
  const pasByNs = groupBy(snapshot.peerAuthentications, (pa) => pa.metadata.namespace ?? '');
  // Starts from the previous map (a native copy) and writes only records that are not the same object: at 200k
  // pods, building the map afresh per change cost more than the rest of this loop.
  const previousWorkloads = previous?.workloads;
  const workloads = new Map<string, Workload>(previousWorkloads ?? []);
  let produced = 0;
  let added = 0;
  for (const pod of snapshot.pods) {
    const entry = podCache.get(pod);
    const cached = entry?.generation === generation ? entry.result : undefined;
    const t =
      cached ??
      translateWorkload(pod, {
        trustDomain: mesh.trustDomain,
        namespaceLabels,
        waypoints,
        selectingPolicies,
        mtls: (namespace, labels) => {
          const candidates = [
            ...(pasByNs.get(namespace) ?? []),
            ...(namespace === mesh.rootNamespace ? [] : (pasByNs.get(mesh.rootNamespace) ?? [])),
          ];
          const m = effectiveMtls({ namespace, labels }, candidates, mesh.rootNamespace);
          return { mode: m.mode, ports: m.ports };
        },
      });
    if (!cached) podCache.set(pod, { generation, result: t });
    if (t.kind !== 'workload') continue;
    produced += 1;
    const old = workloads.get(t.record.uid);
    if (old !== t.record) {
      if (old === undefined) added += 1;
      workloads.set(t.record.uid, t.record);
    }
    const unresolved = unresolvedWaypointStatus(t.record.source, t.waypoint);
    if (unresolved) statuses.push(unresolved);
  }
  // Records of the previous map that no pod produced this time (deleted pods, pods out of the mesh) go: only then
  // is a second pass needed to learn which.
  if ((previousWorkloads?.size ?? 0) + added !== produced) {
    const live = new Set<string>();
    for (const pod of snapshot.pods) {
      const t = podCache.get(pod)?.result;
      if (t?.kind === 'workload') live.add(t.record.uid);
    }
    for (const uid of workloads.keys()) if (!live.has(uid)) workloads.delete(uid);
  }

  // Routing, for waypoints: after workloads, whose pods' labels DestinationRule subsets select.
  // Built only when some DestinationRule subset asks for pod labels.
  let labelsByUid: Map<string, Readonly<Record<string, string>>> | undefined;
  const podLabels = (uid: string) =>
    (labelsByUid ??= new Map(
      snapshot.pods.map((p) => [p.metadata?.uid ?? '', p.metadata?.labels ?? {}] as const),
    )).get(uid) ?? {};
  const routing = translateRouting(
    {
      clusterDomain: mesh.clusterDomain,
      services: [...services.values()].map((x) => ({
        namespace: x.namespace,
        name: x.name,
        ports: x.ports.map((p) => p.port),
      })),
      workloadsOf: (id) =>
        (services.get(id)?.endpoints ?? []).map((e) => ({
          uid: e.workloadUid,
          labels: podLabels(e.workloadUid),
        })),
      virtualServices: snapshot.virtualServices ?? [],
      destinationRules: snapshot.destinationRules ?? [],
      httpRoutes: snapshot.httpRoutes ?? [],
      grpcRoutes: snapshot.grpcRoutes ?? [],
      referenceGrants: snapshot.referenceGrants ?? [],
      ingress,
    },
    previous?.routingMemo,
  );
  statuses.push(...routing.statuses);

  return {
    workloads,
    services,
    authorizations,
    policySelectors,
    statuses,
    warnings: warningsFrom(statuses),
    waypointAuthorizations,
    routeTables: routing.routeTables,
    destinationPolicies: routing.destinationPolicies,
    routeStatuses: routing.routeStatuses,
    routingMemo: routing.memo,
    memo: { context, mesh, generation, pods: podCache, services: serviceMemo },
  };
}
