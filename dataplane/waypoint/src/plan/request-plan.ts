// The per-request decision (STYLE §9): from the request's facts and the config, what the waypoint does with it,
// as plain data. Every choice is an engine call; the HTTP layer only carries the answer out. Order as in Envoy's
// filter chain: L7 authorization (RBAC), route selection, fault injection, then the route's action (redirect, or
// rewrite + header changes + backend choice). The part after route selection (`planRule`) is shared with the
// ingress gateway's planner (gateway/gateway-plan.ts): one routing implementation, two fronts.
import type {
  BackendRef,
  ConnectionFacts,
  HeaderMutation,
  ProxyState,
  RequestFacts,
  RetryPolicy,
  RouteMatch,
  RouteRule,
  Service,
  ServiceEndpoint,
} from '@ambit/config';
import {
  applyHeaderMutation,
  applyRewrite,
  authorizeL7,
  buildRedirect,
  decideFault,
  pickBackend,
  resolveBackend,
  selectRouteMatch,
  type BackendTarget,
  type L7Verdict,
  type Rand,
} from '../engine/index.ts';
import { WaypointError } from '../errors.ts';
import type { Destination, WaypointIndex } from '../state/waypoint-index.ts';
import type { ViaWaypoint } from '../upstream/endpoint-target.ts';

/** Where a request (or a mirror of it) goes: one Envoy cluster, i.e. a Service or one subset of it. */
export interface ClusterPlan {
  /** `<ns>/<service>` or `<ns>/<service>|<subset>`; for a pod addressed directly, `pod/<ns>/<name>`. */
  readonly id: string;
  readonly backend: BackendRef;
  /** The Service the backend names (absent for a pod addressed directly). */
  readonly service?: Service;
  /** The endpoints to pick from: the Service's, or, with `viaWaypoint`, its waypoint's pods. */
  readonly target: BackendTarget;
  /** Ingress only: requests go through the Service's waypoint, every CONNECT naming this Service address. */
  readonly viaWaypoint?: ViaWaypoint;
}

export type RequestPlan =
  /** L7 authorization refused it: 403 `RBAC: access denied`. */
  | { readonly kind: 'deny'; readonly status: 403; readonly body: string; readonly policy?: string }
  | {
      readonly kind: 'redirect';
      readonly routeName: string;
      readonly status: number;
      readonly location: string;
      readonly delayMs?: number;
    }
  /** Fault injection answers instead of forwarding (flag FI), after an optional delay (DI). */
  | { readonly kind: 'abort'; readonly routeName: string; readonly status: number; readonly delayMs?: number }
  /** No rule took the request and there is no default route (an ingress listener): 404, flag NR. */
  | { readonly kind: 'no-route' }
  | ForwardPlan;

export interface ForwardPlan {
  readonly kind: 'forward';
  readonly routeName: string;
  /** The request as the backend sees it: rewritten, request header changes applied (route, then backend). */
  readonly request: RequestFacts;
  readonly cluster: ClusterPlan;
  /** Response header changes, backend first then route (innermost first, as Envoy applies them). */
  readonly responseHeaders: readonly HeaderMutation[];
  readonly delayMs?: number;
  readonly timeoutMs?: number;
  readonly retry?: RetryPolicy;
  /** Mirrors already drawn by their percentage; each gets a copy, its answer ignored. */
  readonly mirrors: readonly ClusterPlan[];
}

/** The name used for telemetry when no rule matched. */
export const DEFAULT_ROUTE = 'default';

function clusterFor(index: WaypointIndex, backend: BackendRef): ClusterPlan {
  const service = index.state.services.get(backend.service);
  if (!service) {
    throw new WaypointError(
      'ERR_WAYPOINT_UNKNOWN_SERVICE',
      `route backend ${backend.service} is not a Service this waypoint knows`,
    );
  }
  return serviceCluster(index.state, service, backend);
}

/** A backend of a known Service: its endpoints for the port (and subset), under its DestinationRule. */
export function serviceCluster(state: ProxyState, service: Service, backend: BackendRef): ClusterPlan {
  const target = resolveBackend(backend, service.endpoints, state.destinationPolicies.get(service.id));
  const id = backend.subset === undefined ? service.id : `${service.id}|${backend.subset}`;
  return { id, backend, service, target };
}

/** A pod addressed by IP goes to that pod only, with no Service routing (Istio's workload-addressed traffic). */
function podCluster(d: Extract<Destination, { kind: 'workload' }>): ClusterPlan {
  const w = d.workload;
  const endpoint: ServiceEndpoint = { workloadUid: w.uid, ports: { [d.port]: d.port }, ready: w.ready };
  return {
    id: `pod/${w.namespace}/${w.name}`,
    backend: { service: `pod/${w.namespace}/${w.name}`, port: d.port, weight: 1 },
    target: { endpoints: [endpoint], trafficPolicy: {} },
  };
}

/** The cluster of a destination's default route: all endpoints of the Service, or the pod itself. */
export function clusterForDestination(index: WaypointIndex, destination: Destination): ClusterPlan {
  if (destination.kind === 'workload') return podCluster(destination);
  return clusterFor(index, { service: destination.service.id, port: destination.port.port, weight: 1 });
}

function defaultRule(service: Service, port: number): RouteRule {
  return {
    name: DEFAULT_ROUTE,
    matches: [],
    backends: [{ service: service.id, port, weight: 1 }],
    mirrors: [],
  };
}

/**
 * Decides one request. Throws `EngineError` / `WaypointError` for config the waypoint cannot act on (unknown
 * subset or Service, all-zero weights); the caller answers those through `replyFor`.
 */
export function planRequest(
  index: WaypointIndex,
  destination: Destination,
  conn: ConnectionFacts,
  req: RequestFacts,
  rand: Rand,
): RequestPlan {
  const namespace =
    destination.kind === 'service' ? destination.service.namespace : destination.workload.namespace;
  const verdict = authorizeL7(
    index.policiesFor(namespace, destination.kind === 'service' ? destination.service.id : undefined),
    conn,
    req,
  );
  if (!verdict.allowed) return denyPlan(verdict);

  if (destination.kind === 'workload') {
    return {
      kind: 'forward',
      routeName: DEFAULT_ROUTE,
      request: req,
      cluster: podCluster(destination),
      responseHeaders: [],
      mirrors: [],
    };
  }

  const service = destination.service;
  const selected = selectRouteMatch(index.state.routeTables.get(service.id), req);
  const rule = selected?.rule ?? defaultRule(service, destination.port.port);
  return planRule(rule, selected?.match, req, rand, (backend) => clusterFor(index, backend));
}

/** The plan of an L7 authorization refusal. */
export function denyPlan(verdict: Extract<L7Verdict, { allowed: false }>): RequestPlan {
  return {
    kind: 'deny',
    status: verdict.status,
    body: verdict.body,
    ...(verdict.policy ? { policy: verdict.policy.id } : {}),
  };
}

/**
 * What the rule a request took does with it, the same for every front (waypoint, ingress gateway): fault
 * injection, then a redirect, or a backend by weight with the rule's rewrite, header changes, timeout, retries
 * and mirrors. `cluster` resolves a backend the way the front does (it may throw; a mirror that cannot be
 * resolved is skipped).
 */
export function planRule(
  rule: RouteRule,
  match: RouteMatch | undefined,
  req: RequestFacts,
  rand: Rand,
  cluster: (backend: BackendRef) => ClusterPlan,
): Exclude<RequestPlan, { kind: 'deny' | 'no-route' }> {
  const fault = decideFault(rule.fault, rand);
  const delay = fault.delayMs !== undefined ? { delayMs: fault.delayMs } : {};
  if (fault.abortStatus !== undefined) {
    return { kind: 'abort', routeName: rule.name, status: fault.abortStatus, ...delay };
  }
  if (rule.redirect) {
    const r = buildRedirect(rule.redirect, req, match);
    return { kind: 'redirect', routeName: rule.name, status: r.status, location: r.location, ...delay };
  }

  const backend = pickBackend(rule, rand);
  if (!backend) {
    throw new WaypointError('ERR_WAYPOINT_NO_BACKEND', `route ${rule.name} has no backend with weight`);
  }
  const primary = cluster(backend);
  const rewritten = applyRewrite(req, rule.rewrite, match);
  const headers = applyHeaderMutation(
    applyHeaderMutation(rewritten.headers, rule.requestHeaders),
    backend.requestHeaders,
  );
  const mirrors: ClusterPlan[] = [];
  for (const m of rule.mirrors) {
    if (!(rand() * 100 < m.percent)) continue;
    try {
      mirrors.push(cluster(m.backend));
    } catch {
      // A mirror that cannot be resolved is skipped: mirroring never changes the primary request's outcome.
    }
  }
  return {
    kind: 'forward',
    routeName: rule.name,
    request: { ...rewritten, headers },
    cluster: primary,
    responseHeaders: [backend.responseHeaders, rule.responseHeaders].filter(
      (m): m is HeaderMutation => m !== undefined,
    ),
    ...delay,
    ...(rule.timeoutMs !== undefined && rule.timeoutMs > 0 ? { timeoutMs: rule.timeoutMs } : {}),
    ...(rule.retry && rule.retry.attempts > 0 ? { retry: rule.retry } : {}),
    mirrors,
  };
}
