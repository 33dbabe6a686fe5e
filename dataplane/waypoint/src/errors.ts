// The waypoint's (and the ingress gateway's, which shares its engine) typed errors (STYLE §11): every failure of the HTTP layer carries a string-literal `code`; only
// local-reply.ts turns one into what the client sees.

export type WaypointErrorCode =
  /** The CONNECT `:authority` is no Service VIP:port or pod IP:port this waypoint fronts. */
  | 'ERR_WAYPOINT_UNKNOWN_DESTINATION'
  /** A route names a Service this waypoint was not sent (cluster not found in Envoy's terms). */
  | 'ERR_WAYPOINT_UNKNOWN_SERVICE'
  /**
   * Ingress gateway: a route backend names a Service (or a port of it) the gateway was not sent, i.e. one that
   * does not exist; Gateway API answers that backend's share of requests with 500.
   */
  | 'ERR_WAYPOINT_BACKEND_NOT_FOUND'
  /** Every backend of the rule has weight 0 (Gateway API requires a 500). */
  | 'ERR_WAYPOINT_NO_BACKEND'
  /** No endpoint is ready, or all are ejected by outlier detection. */
  | 'ERR_WAYPOINT_NO_HEALTHY_UPSTREAM'
  /** The chosen endpoint's workload is missing or has no address. */
  | 'ERR_WAYPOINT_ENDPOINT_UNREACHABLE'
  /** A connection-pool limit refused the request (`reason` names the limit). */
  | 'ERR_WAYPOINT_OVERFLOW'
  /** The HBONE connection (or plain TCP dial) to the endpoint failed. */
  | 'ERR_WAYPOINT_UPSTREAM_CONNECT'
  /** The upstream reset the stream or closed before a full response. */
  | 'ERR_WAYPOINT_UPSTREAM_RESET'
  /** The route's timeout (or the last try's per-try timeout) passed. */
  | 'ERR_WAYPOINT_UPSTREAM_TIMEOUT'
  /** A setting or the local config file is unusable. */
  | 'ERR_WAYPOINT_SETTINGS';

export class WaypointError extends Error {
  readonly code: WaypointErrorCode;
  constructor(code: WaypointErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'WaypointError';
    this.code = code;
  }
}
