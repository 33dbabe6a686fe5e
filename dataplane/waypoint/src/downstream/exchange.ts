// One request as the waypoint's proxy logic sees it, whichever protocol the caller spoke (definitions only):
// the request's facts and body in, and three ways out: a local reply, a relayed upstream response, or a reset.
import type { Readable } from 'node:stream';
import type { Headers } from '../engine/index.ts';
import type { UpstreamResponse } from '../upstream/upstream-request.ts';

export interface DownstreamRequest {
  readonly protocol: 'HTTP/1.1' | 'HTTP/2';
  /** Uppercase. */
  readonly method: string;
  /** The request-target / `:path`, query included. */
  readonly path: string;
  /** `Host` / `:authority`. */
  readonly authority: string;
  /** Lowercase, without pseudo-headers or hop-by-hop headers. */
  readonly headers: Headers;
  readonly body: Readable;
  /** Known to carry no body (HTTP/1.1 without length or chunking; HTTP/2 HEADERS with END_STREAM). */
  readonly bodyless: boolean;
  /** gRPC (`content-type: application/grpc…`): local replies go out as gRPC status. */
  readonly grpc: boolean;
}

export interface RelayResult {
  /** Response body bytes sent to the caller. */
  readonly bytes: number;
  /** Set when the relay ended in a reset on either side. */
  readonly error?: Error;
}

export interface DownstreamExchange {
  readonly request: DownstreamRequest;
  /** Whether response headers went out (after that, a failure can only reset). */
  readonly responded: boolean;
  /** Aborted when the caller goes away before the response is complete. */
  readonly signal: AbortSignal;
  /** A response the waypoint makes itself. Resolves with the body bytes sent. */
  reply(status: number, body: string, headers?: Headers): Promise<number>;
  /** Streams an upstream response through, with `headers` replacing the upstream's. */
  relay(response: UpstreamResponse, headers: Headers): Promise<RelayResult>;
  /** Ends the exchange abruptly (RST_STREAM, or closing an HTTP/1.1 connection). */
  reset(): void;
}
