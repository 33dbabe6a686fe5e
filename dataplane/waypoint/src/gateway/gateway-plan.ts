// The ingress gateway's per-request decision (STYLE §9), as plain data: L7 authorization with the policies on the
// Gateway, the rule of the listener port's table (hosts included), then the waypoint's own rule planning
// (`planRule`: faults, redirects, weights, rewrites, headers, timeouts, retries, mirrors) with the gateway's way of
// resolving a backend. What differs from the waypoint is only:
//  1. the table is chosen by the listener port, and no rule taking the request is a 404 (NR), never a default;
//  2. a backend naming a Service (or port) the gateway was not sent answers 500 (Gateway API), not 503 NC;
//  3. a Service labelled `istio.io/ingress-use-waypoint: "true"` with a waypoint is reached through that waypoint
//     (its pods are the endpoints, every CONNECT names the Service VIP and port), which then routes it;
//  4. the upstream protocol follows the backend port's declared protocol, as Envoy's clusters do;
//  5. the request carries `x-forwarded-for` (the client appended) and `x-forwarded-proto`, as an edge Envoy adds.
import type { BackendRef, ConnectionFacts, ProxyState, RequestFacts } from '@ambit/config';
import { authorizeL7, headerValue, selectRouteMatch, type Headers, type Rand } from '../engine/index.ts';
import type { DownstreamRequest } from '../downstream/exchange.ts';
import { WaypointError } from '../errors.ts';
import {
  denyPlan,
  planRule,
  serviceCluster,
  type ClusterPlan,
  type ForwardPlan,
  type RequestPlan,
} from '../plan/request-plan.ts';
import { portProtocol, prefersH2 } from '../state/waypoint-index.ts';
import type { GatewayIndex } from './gateway-index.ts';

/** The backend's cluster: its endpoints, or its waypoint's pods when the Service asks ingress to use it. */
export function gatewayCluster(state: ProxyState, backend: BackendRef): ClusterPlan {
  const service = state.services.get(backend.service);
  if (!service || !service.ports.some((p) => p.port === backend.port)) {
    throw new WaypointError(
      'ERR_WAYPOINT_BACKEND_NOT_FOUND',
      service
        ? `route backend ${backend.service} has no port ${backend.port}`
        : `route backend ${backend.service} is not a Service this gateway knows`,
    );
  }
  const waypoint = service.ingressUseWaypoint ? service.waypoint : undefined;
  const vip = service.vips[0];
  // A headless Service has no address for the waypoint to route: its endpoints are used directly.
  if (waypoint && vip !== undefined) {
    const fronting = state.services.get(`${waypoint.namespace}/${waypoint.name}`);
    return {
      id: `${service.id}@waypoint`,
      backend,
      service,
      // No ready waypoint pod: no healthy upstream (503 UH), never a bypass of the waypoint (fail closed).
      target: { endpoints: (fronting?.endpoints ?? []).filter((e) => e.ready), trafficPolicy: {} },
      viaWaypoint: { ip: vip, port: backend.port },
    };
  }
  return serviceCluster(state, service, backend);
}

/** Decides one request that came to listener `port`. Throws what `replyFor` answers (500 for a missing backend). */
export function planGatewayRequest(
  index: GatewayIndex,
  port: number,
  conn: ConnectionFacts,
  req: RequestFacts,
  rand: Rand,
): RequestPlan {
  const verdict = authorizeL7(index.policies, conn, req);
  if (!verdict.allowed) return denyPlan(verdict);
  const selected = selectRouteMatch(index.table(port), req);
  if (!selected) return { kind: 'no-route' };
  return planRule(selected.rule, selected.match, req, rand, (backend) =>
    gatewayCluster(index.state, backend),
  );
}

/**
 * The request as an edge proxy passes it on (Envoy with `use_remote_address`, as Istio's gateways run): the
 * client's address appended to `x-forwarded-for`, and `x-forwarded-proto` set to the listener's scheme.
 */
export function withForwardedHeaders(
  req: RequestFacts,
  clientIp: string,
  scheme: 'http' | 'https',
): RequestFacts {
  const prior = headerValue(req, 'x-forwarded-for');
  const headers: Headers = {
    ...req.headers,
    'x-forwarded-for': prior === undefined || prior === '' ? clientIp : `${prior}, ${clientIp}`,
    'x-forwarded-proto': scheme,
  };
  return { ...req, headers };
}

/**
 * HTTP/2 upstream when the backend port says so (`http2`, `grpc`, `h2c`), HTTP/1.1 when it says `http`, and the
 * caller's protocol otherwise (Envoy's USE_DOWNSTREAM_PROTOCOL for undeclared ports). Through a waypoint the same
 * rule applies: the waypoint reads either.
 */
export function gatewayUpstreamH2(request: DownstreamRequest, plan: ForwardPlan): boolean {
  const port = plan.cluster.service?.ports.find((p) => p.port === plan.cluster.backend.port);
  if (prefersH2(port)) return true;
  if (portProtocol(port) === 'http') return false;
  return request.protocol === 'HTTP/2';
}
