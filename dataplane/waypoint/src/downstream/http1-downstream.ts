// HTTP/1.1 from callers, inside CONNECT streams: one `http.Server` (never listening) that is handed each stream as
// a connection. Node's server does keep-alive, pipelining order, chunked bodies and backpressure. An `Upgrade:
// h2c` is declined by answering the request over HTTP/1.1 (RFC 9113 §3.1 lets a server ignore it), since no
// 'upgrade' listener is installed.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Headers } from '../engine/index.ts';
import { cleanHeaders, type UpstreamResponse } from '../upstream/upstream-request.ts';
import type { DownstreamExchange, RelayResult } from './exchange.ts';

export type ExchangeHandler<C> = (context: C, exchange: DownstreamExchange) => void;

function outgoing(h: Headers): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(h)) out[k] = typeof v === 'string' ? v : [...v];
  return out;
}

function exchangeOf(
  req: IncomingMessage,
  res: ServerResponse,
  fallbackAuthority: string,
): DownstreamExchange {
  const abort = new AbortController();
  res.once('close', () => {
    if (!res.writableFinished) abort.abort(new Error('caller went away'));
  });
  const length = req.headers['content-length'];
  const bodyless = req.headers['transfer-encoding'] === undefined && (length === undefined || length === '0');
  const contentType = req.headers['content-type'] ?? '';
  return {
    request: {
      protocol: 'HTTP/1.1',
      method: (req.method ?? 'GET').toUpperCase(),
      path: req.url ?? '/',
      authority: req.headers.host ?? fallbackAuthority,
      headers: cleanHeaders(req.headers),
      body: req,
      bodyless,
      grpc: contentType.startsWith('application/grpc'),
    },
    get responded() {
      return res.headersSent;
    },
    signal: abort.signal,
    reply: (status, body, headers = {}) =>
      new Promise((resolve) => {
        const bytes = Buffer.byteLength(body);
        res.writeHead(status, {
          ...outgoing(headers),
          'content-type': 'text/plain',
          'content-length': String(bytes),
        });
        res.end(body, () => resolve(bytes));
      }),
    relay: async (up: UpstreamResponse, headers: Headers): Promise<RelayResult> => {
      let bytes = 0;
      res.writeHead(up.status, outgoing(headers));
      up.body.on('data', (chunk: Buffer) => (bytes += chunk.length));
      try {
        await pipeline(up.body, res);
        return { bytes };
      } catch (err) {
        res.destroy();
        return { bytes, error: err instanceof Error ? err : new Error(String(err)) };
      }
    },
    reset: () => req.socket.destroy(),
  };
}

export class Http1Downstream<C> {
  readonly #server: Server;
  readonly #contexts = new WeakMap<Duplex, { context: C; authority: string }>();

  constructor(handler: ExchangeHandler<C>) {
    this.#server = createServer({ keepAlive: true }, (req, res) => {
      const entry = this.#contexts.get(req.socket);
      if (!entry) return void res.writeHead(500).end();
      handler(entry.context, exchangeOf(req, res, entry.authority));
    });
    // Malformed requests get Node's 400 and the connection closes, as Envoy does.
    this.#server.on('clientError', (_err, socket: Duplex) => {
      if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n');
      else socket.destroy();
    });
  }

  /** Serves one CONNECT stream's bytes as an HTTP/1.1 connection. */
  accept(stream: Duplex, context: C, authority: string): void {
    this.#contexts.set(stream, { context, authority });
    this.#server.emit('connection', stream);
  }

  close(): void {
    this.#server.closeAllConnections();
  }
}
