// The waypoint's L7 decisions, each a pure function of config, request facts and injected state (STYLE §9):
// the HTTP layer asks, then acts.
export {
  localReplyFor,
  EngineError,
  type EngineErrorCode,
  type LocalReply,
  type ResponseFlag,
} from './errors.ts';
export { pathPrefixMatches, stringMatches } from './string-match.ts';
export {
  headerValue,
  hostMatches,
  requestHost,
  routeMatchMatches,
  selectRoute,
  selectRouteMatch,
  type RouteSelection,
} from './route-select.ts';
export {
  DEFAULT_LOAD_BALANCER,
  INITIAL_LB_STATE,
  pickBackend,
  pickEndpoint,
  resolveBackend,
  type BackendTarget,
  type EndpointPick,
  type EndpointPreference,
  type LbState,
  type Rand,
} from './backend-pick.ts';
export {
  applyHeaderMutation,
  applyRewrite,
  buildRedirect,
  rewritePath,
  type Headers,
  type RedirectResponse,
} from './request-rewrite.ts';
export {
  RETRY_BASE_INTERVAL_MS,
  nextEndpointPreference,
  retryBackoffMs,
  shouldRetry,
  type RetryDecision,
  type TryOutcome,
} from './retry-policy.ts';
export { decideFault, type FaultDecision } from './fault.ts';
export {
  EMPTY_OUTLIER_STATE,
  MAX_EJECTION_TIME_MS,
  ejectedAt,
  recordResult,
  type EndpointHealth,
  type EndpointResult,
  type OutlierState,
} from './outlier.ts';
export { admit, connectionReusable, type Admission, type PoolCounters } from './connection-pool.ts';
export { RBAC_DENIED_BODY, authorizeL7, type L7Verdict } from './l7-authorize.ts';
