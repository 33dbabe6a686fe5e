// The one edge where errors become answers (STYLE §11): engine errors through the engine's `localReplyFor`,
// waypoint errors here, anything else a 500. Also the gRPC form of a local reply, since a gRPC client reads the
// outcome from `grpc-status`, not from the HTTP status (Envoy answers gRPC requests the same way).
import { EngineError, localReplyFor, type LocalReply } from './engine/index.ts';
import { WaypointError } from './errors.ts';

export type { LocalReply };

export function replyFor(err: unknown): LocalReply {
  if (err instanceof EngineError) return localReplyFor(err);
  if (!(err instanceof WaypointError)) {
    return { status: 500, body: `internal error: ${err instanceof Error ? err.message : String(err)}` };
  }
  switch (err.code) {
    case 'ERR_WAYPOINT_UNKNOWN_DESTINATION':
      return { status: 503, body: err.message };
    case 'ERR_WAYPOINT_UNKNOWN_SERVICE':
      return { status: 503, flag: 'NC', body: err.message };
    case 'ERR_WAYPOINT_BACKEND_NOT_FOUND':
    case 'ERR_WAYPOINT_NO_BACKEND':
      return { status: 500, body: err.message };
    case 'ERR_WAYPOINT_NO_HEALTHY_UPSTREAM':
    case 'ERR_WAYPOINT_ENDPOINT_UNREACHABLE':
      return { status: 503, flag: 'UH', body: 'no healthy upstream' };
    case 'ERR_WAYPOINT_OVERFLOW':
      return { status: 503, flag: 'UO', body: err.message };
    case 'ERR_WAYPOINT_UPSTREAM_CONNECT':
      return { status: 503, flag: 'UF', body: 'upstream connect error or disconnect/reset before headers' };
    case 'ERR_WAYPOINT_UPSTREAM_RESET':
      return { status: 503, body: 'upstream connect error or disconnect/reset before headers' };
    case 'ERR_WAYPOINT_UPSTREAM_TIMEOUT':
      return { status: 504, flag: 'UT', body: 'upstream request timeout' };
    case 'ERR_WAYPOINT_SETTINGS':
      return { status: 500, body: err.message };
  }
}

/** `grpc-message` encoding (gRPC over HTTP/2 spec): UTF-8, with `%` and bytes outside 0x20–0x7E percent-encoded. */
export function encodeGrpcMessage(message: string): string {
  let out = '';
  for (const byte of Buffer.from(message, 'utf8')) {
    out +=
      byte >= 0x20 && byte <= 0x7e && byte !== 0x25
        ? String.fromCharCode(byte)
        : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/**
 * gRPC's HTTP-to-status mapping (grpc/doc/http-grpc-status-mapping.md), which Envoy uses for local replies to
 * gRPC requests: 400 INTERNAL, 401 UNAUTHENTICATED, 403 PERMISSION_DENIED, 404 UNIMPLEMENTED, 429/502/503/504
 * UNAVAILABLE, anything else UNKNOWN.
 */
export function grpcStatusFor(httpStatus: number): number {
  switch (httpStatus) {
    case 400:
      return 13;
    case 401:
      return 16;
    case 403:
      return 7;
    case 404:
      return 12;
    case 429:
    case 502:
    case 503:
    case 504:
      return 14;
    default:
      return 2;
  }
}
