// The waypoint (issue 6): the L7 proxy, and the ingress gateway (issue 10), a second front on the same engine. The
// processes are main.ts and gateway/main.ts; these are their parts, for tests and benchmarks.
export * from './engine/index.ts';
export { Waypoint, type WaypointCertificates, type WaypointOptions } from './proxy/waypoint.ts';
export { WaypointMetrics } from './telemetry/metrics.ts';
export { WaypointError, type WaypointErrorCode } from './errors.ts';
export { replyFor, grpcStatusFor } from './local-reply.ts';
export { planRequest, type ForwardPlan, type RequestPlan } from './plan/request-plan.ts';
export { planTcp } from './plan/tcp-plan.ts';
export { buildIndex, portProtocol, type Destination, type WaypointIndex } from './state/waypoint-index.ts';
export { parseSettings, type WaypointSettings } from './config/settings.ts';
export { SOURCE_PRINCIPAL_KEY, sourceBaggage } from './upstream/upstream-connector.ts';
export { Gateway, type GatewayOptions } from './gateway/gateway.ts';
export {
  buildGatewayIndex,
  type GatewayIndex,
  type GatewayRef,
  type ListenerSpec,
} from './gateway/gateway-index.ts';
export { planGatewayRequest } from './gateway/gateway-plan.ts';
export { parseGatewaySettings, type GatewaySettings } from './gateway/settings.ts';
