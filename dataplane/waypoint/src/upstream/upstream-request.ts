// One try of a request to one endpoint, over HTTP/1.1 (through the cluster's HboneAgent) or HTTP/2 (through a
// pooled session), resolved at the response headers. The body streams on; the caller relays or discards it.
// Failures reject with a typed WaypointError: UPSTREAM_CONNECT (no stream could be opened) or UPSTREAM_RESET.
import { request as httpRequest, type IncomingMessage, type OutgoingHttpHeaders } from 'node:http';
import { constants, type IncomingHttpHeaders } from 'node:http2';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import { WaypointError } from '../errors.ts';
import type { Headers } from '../engine/index.ts';
import type { EndpointTarget } from './endpoint-target.ts';
import type { H2Sessions } from './h2-over-hbone.ts';
import type { HboneAgent, HboneRequestArgs } from './http1-over-hbone.ts';
import type { ForwardedSource } from './upstream-connector.ts';

export interface UpstreamRequest {
  readonly method: string;
  readonly path: string;
  readonly authority: string;
  /** Lowercase, without pseudo-headers or hop-by-hop headers. */
  readonly headers: Headers;
  readonly body: Readable;
  /** Whether the body is known to be empty (no DATA frames, no chunked encoding). */
  readonly bodyless: boolean;
  readonly target: EndpointTarget;
  readonly source?: ForwardedSource;
  /** Aborting it resets the try (timeouts, the caller going away). */
  readonly signal: AbortSignal;
}

export interface UpstreamResponse {
  readonly status: number;
  /** Lowercase, without pseudo-headers or hop-by-hop headers. */
  readonly headers: Headers;
  readonly body: Readable;
  /** The headers ended the stream (gRPC trailers-only, HEAD, 204, 304). */
  readonly endStream: boolean;
  /** Read after `body` ended. */
  trailers(): Headers | undefined;
  /** Drops the response (a try that will be retried, or a mirror's). */
  discard(): void;
}

/** RFC 9110 §7.6.1 and RFC 9113 §8.2.2: never forwarded hop to hop. */
export const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
  'http2-settings',
  'te',
  'host',
]);

/** Node's header object, minus pseudo and hop-by-hop headers. */
export function cleanHeaders(h: IncomingHttpHeaders | IncomingMessage['headers']): Headers {
  const out: Record<string, string | readonly string[]> = {};
  for (const [name, value] of Object.entries(h)) {
    if (value === undefined || name.startsWith(':') || HOP_BY_HOP.has(name)) continue;
    out[name] = value;
  }
  return out;
}

function outgoing(h: Headers): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(h)) out[name] = typeof value === 'string' ? value : [...value];
  return out;
}

function resetError(target: EndpointTarget, err: unknown): WaypointError {
  if (err instanceof WaypointError) return err;
  return new WaypointError(
    'ERR_WAYPOINT_UPSTREAM_RESET',
    `upstream ${target.ip}:${target.port} reset: ${err instanceof Error ? err.message : String(err)}`,
    { cause: err },
  );
}

export function sendHttp1(agent: HboneAgent, r: UpstreamRequest): Promise<UpstreamResponse> {
  return new Promise((resolve, reject) => {
    const args: HboneRequestArgs = {
      agent,
      method: r.method,
      path: r.path,
      host: r.target.ip,
      port: r.target.port,
      headers: { ...outgoing(r.headers), host: r.authority },
      signal: r.signal,
      ambitTarget: r.target,
      ...(r.source ? { ambitSource: r.source } : {}),
    };
    const req = httpRequest(args);
    req.once('error', (err) => reject(resetError(r.target, err)));
    req.once('response', (res: IncomingMessage) => {
      res.on('error', () => undefined); // surfaced through the relay's pipeline
      resolve({
        status: res.statusCode ?? 502,
        headers: cleanHeaders(res.headers),
        body: res,
        endStream: false,
        trailers: () => (Object.keys(res.trailers).length > 0 ? cleanHeaders(res.trailers) : undefined),
        discard: () => res.destroy(),
      });
    });
    if (r.bodyless) {
      r.body.resume();
      req.end();
    } else {
      pipeline(r.body, req).catch(() => undefined); // a failed body fails the request through 'error'
    }
  });
}

export async function sendH2(sessions: H2Sessions, r: UpstreamRequest): Promise<UpstreamResponse> {
  const session = await sessions.session(r.target, r.source);
  return new Promise((resolve, reject) => {
    const stream = session.request(
      {
        ...outgoing(r.headers),
        // gRPC servers require `te: trailers` (the one TE value HTTP/2 allows); it is hop-by-hop, so it is restated.
        ...(String(r.headers['content-type'] ?? '').startsWith('application/grpc') ? { te: 'trailers' } : {}),
        ':method': r.method,
        ':path': r.path,
        ':authority': r.authority,
        ':scheme': 'http',
      },
      { endStream: r.bodyless, signal: r.signal },
    );
    let trailers: Headers | undefined;
    stream.once('error', (err) => reject(resetError(r.target, err)));
    stream.once('close', () => {
      // A stream closed before its headers: refused or reset (REFUSED_STREAM is retriable as such).
      reject(
        new WaypointError(
          'ERR_WAYPOINT_UPSTREAM_RESET',
          `upstream ${r.target.ip}:${r.target.port} closed the stream (code ${stream.rstCode ?? constants.NGHTTP2_NO_ERROR})`,
        ),
      );
    });
    stream.once('trailers', (t: IncomingHttpHeaders) => (trailers = cleanHeaders(t)));
    stream.once('response', (headers: IncomingHttpHeaders, flags: number) => {
      stream.on('error', () => undefined);
      resolve({
        status: Number(headers[':status'] ?? 502),
        headers: cleanHeaders(headers),
        body: stream,
        endStream: (flags & constants.NGHTTP2_FLAG_END_STREAM) !== 0,
        trailers: () => trailers,
        discard: () => stream.close(constants.NGHTTP2_CANCEL),
      });
    });
    if (r.bodyless) r.body.resume();
    else pipeline(r.body, stream).catch(() => undefined);
  });
}
