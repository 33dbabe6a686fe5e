// HTTP/2 prior knowledge from callers, inside CONNECT streams: a server session per stream
// (`http2.performServerHandshake`), so each request knows its connection's facts without a lookup. Responses
// wait for trailers, so gRPC's `grpc-status` trailers pass through unchanged.
import {
  constants,
  performServerHandshake,
  type IncomingHttpHeaders,
  type ServerHttp2Stream,
} from 'node:http2';
import type { Duplex } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { H2_SETTINGS } from '@ambit/hbone';
import type { Headers } from '../engine/index.ts';
import { encodeGrpcMessage, grpcStatusFor } from '../local-reply.ts';
import { cleanHeaders, type UpstreamResponse } from '../upstream/upstream-request.ts';
import type { DownstreamExchange, RelayResult } from './exchange.ts';
import type { ExchangeHandler } from './http1-downstream.ts';

function outgoing(h: Headers): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(h)) out[k] = typeof v === 'string' ? v : [...v];
  return out;
}

function one(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

function exchangeOf(stream: ServerHttp2Stream, h: IncomingHttpHeaders, flags: number): DownstreamExchange {
  const abort = new AbortController();
  stream.once('close', () => {
    if (!stream.writableFinished || stream.rstCode !== constants.NGHTTP2_NO_ERROR) {
      abort.abort(new Error('caller went away'));
    }
  });
  const grpc = (one(h['content-type']) ?? '').startsWith('application/grpc');
  const request = {
    protocol: 'HTTP/2' as const,
    method: (one(h[':method']) ?? 'GET').toUpperCase(),
    path: one(h[':path']) ?? '/',
    authority: one(h[':authority']) ?? one(h.host) ?? '',
    headers: cleanHeaders(h),
    body: stream,
    bodyless: (flags & constants.NGHTTP2_FLAG_END_STREAM) !== 0,
    grpc,
  };
  return {
    request,
    get responded() {
      return stream.headersSent;
    },
    signal: abort.signal,
    reply: (status, body, headers = {}) =>
      new Promise((resolve) => {
        if (stream.destroyed) return resolve(0);
        if (grpc) {
          // Trailers-only, as Envoy answers gRPC callers: the HTTP status is 200 and the outcome is grpc-status.
          stream.respond(
            {
              ...outgoing(headers),
              ':status': 200,
              'content-type': 'application/grpc',
              'grpc-status': String(grpcStatusFor(status)),
              'grpc-message': encodeGrpcMessage(body),
            },
            { endStream: true },
          );
          return resolve(0);
        }
        const bytes = Buffer.byteLength(body);
        stream.respond({
          ...outgoing(headers),
          ':status': status,
          'content-type': 'text/plain',
          'content-length': String(bytes),
        });
        stream.end(body, () => resolve(bytes));
      }),
    relay: async (up: UpstreamResponse, headers: Headers): Promise<RelayResult> => {
      if (stream.destroyed) return { bytes: 0, error: new Error('caller went away') };
      if (up.endStream) {
        stream.respond({ ...outgoing(headers), ':status': up.status }, { endStream: true });
        return { bytes: 0 };
      }
      let bytes = 0;
      stream.respond({ ...outgoing(headers), ':status': up.status }, { waitForTrailers: true });
      stream.once('wantTrailers', () => {
        const t = up.trailers();
        stream.sendTrailers(t ? outgoing(t) : {});
      });
      up.body.on('data', (chunk: Buffer) => (bytes += chunk.length));
      try {
        await pipeline(up.body, stream);
        return { bytes };
      } catch (err) {
        if (!stream.destroyed) stream.close(constants.NGHTTP2_INTERNAL_ERROR);
        return { bytes, error: err instanceof Error ? err : new Error(String(err)) };
      }
    },
    reset: () => {
      if (!stream.destroyed) stream.close(constants.NGHTTP2_INTERNAL_ERROR);
    },
  };
}

export class H2Downstream<C> {
  readonly #handler: ExchangeHandler<C>;

  constructor(handler: ExchangeHandler<C>) {
    this.#handler = handler;
  }

  /** Serves one CONNECT stream's bytes as an HTTP/2 connection (the preface is still unread in `stream`). */
  accept(stream: Duplex, context: C): void {
    const session = performServerHandshake(stream, { settings: H2_SETTINGS });
    session.on('error', () => undefined); // the CONNECT stream's own teardown reports it
    session.on('stream', (s: ServerHttp2Stream, headers: IncomingHttpHeaders, flags: number) => {
      s.on('error', () => undefined);
      this.#handler(context, exchangeOf(s, headers, flags));
    });
    stream.once('close', () => session.destroy());
  }
}
