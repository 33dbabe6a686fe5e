// The engine's typed errors and the one place that turns them into a local reply (STYLE §11). Only config that
// the control plane should not have sent ends up here; ordinary outcomes (no backend, overflow, denial) are values.

/** Envoy's response flags, as Istio's `response_flags` label and access log spell them. */
export type ResponseFlag =
  /** Upstream overflow: a connection-pool limit refused the request. */
  | 'UO'
  /** No healthy upstream: every endpoint is ejected or not ready. */
  | 'UH'
  /** No route configured for the request. */
  | 'NR'
  /** The route names a cluster (Service subset) that does not exist. */
  | 'NC'
  /** The request was aborted by fault injection. */
  | 'FI'
  /** The request was delayed by fault injection. */
  | 'DI'
  /** Upstream retry limit exceeded. */
  | 'URX'
  /** Upstream request timeout. */
  | 'UT'
  /** Upstream connection failure. */
  | 'UF';

export type EngineErrorCode =
  /** A BackendRef names a subset its Service's DestinationRule does not define (Envoy: cluster not found). */
  | 'ERR_UNKNOWN_SUBSET'
  /** A route's regex does not compile here; the control plane should have rejected it. */
  | 'ERR_INVALID_ROUTE_REGEX';

export class EngineError extends Error {
  readonly code: EngineErrorCode;
  constructor(code: EngineErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'EngineError';
    this.code = code;
  }
}

/** What the waypoint answers itself instead of forwarding. */
export interface LocalReply {
  readonly status: number;
  readonly flag?: ResponseFlag;
  readonly body: string;
}

/** The one mapping from engine errors to what the client sees. */
export function localReplyFor(error: EngineError): LocalReply {
  switch (error.code) {
    // Envoy answers a missing cluster with 503 NC; this is the usual window where a VirtualService names a
    // subset before its DestinationRule arrives.
    case 'ERR_UNKNOWN_SUBSET':
      return { status: 503, flag: 'NC', body: error.message };
    case 'ERR_INVALID_ROUTE_REGEX':
      return { status: 500, body: error.message };
  }
}
