// The per-request decision (STYLE §9): from the request's facts and the config, what the waypoint does with it,
// as plain data. Every choice is an engine call; the HTTP layer only carries the answer out. Order as in Envoy's
// filter chain: L7 authorization (RBAC), route selection, fault injection, then the route's action (redirect, or
// rewrite + header changes + backend choice).
import type {
  BackendRef,
  ConnectionFacts,
  HeaderMutation,
  RequestFacts,
  RetryPolicy,
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
  type Rand,
} from '../engine/index.ts';
import { WaypointError } from '../errors.ts';
import type { Destination, WaypointIndex } from '../state/waypoint-index.ts';

/** Where a request (or a mirror of it) goes: one Envoy cluster, i.e. a Service or one subset of it. */
export interface ClusterPlan {
  /** `<ns>/<service>` or `<ns>/<service>|<subset>`; for a pod addressed directly, `pod/<ns>/<name>`. */
  readonly id: string;
  readonly backend: BackendRef;
  /** The Service the backend names (absent for a pod addressed directly). */
  readonly service?: Service;
  readonly target: BackendTarget;
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
  const target = resolveBackend(backend, service.endpoints, index.state.destinationPolicies.get(service.id));
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
  if (!verdict.allowed) {
    return {
      kind: 'deny',
      status: verdict.status,
      body: verdict.body,
      ...(verdict.policy ? { policy: verdict.policy.id } : {}),
    };
  }

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
  const match = selected?.match;

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
  const cluster = clusterFor(index, backend);
  const rewritten = applyRewrite(req, rule.rewrite, match);
  const headers = applyHeaderMutation(
    applyHeaderMutation(rewritten.headers, rule.requestHeaders),
    backend.requestHeaders,
  );
  const mirrors: ClusterPlan[] = [];
  for (const m of rule.mirrors) {
    if (!(rand() * 100 < m.percent)) continue;
    try {
      mirrors.push(clusterFor(index, m.backend));
    } catch {
      // A mirror that cannot be resolved is skipped: mirroring never changes the primary request's outcome.
    }
  }
  return {
    kind: 'forward',
    routeName: rule.name,
    request: { ...rewritten, headers },
    cluster,
    responseHeaders: [backend.responseHeaders, rule.responseHeaders].filter(
      (m): m is HeaderMutation => m !== undefined,
    ),
    ...delay,
    ...(rule.timeoutMs !== undefined && rule.timeoutMs > 0 ? { timeoutMs: rule.timeoutMs } : {}),
    ...(rule.retry && rule.retry.attempts > 0 ? { retry: rule.retry } : {}),
    mirrors,
  };
}
