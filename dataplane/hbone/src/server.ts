// The HBONE server: terminates mutual TLS + HTTP/2 on any number of listeners (one per pod netns, each with that
// pod's certificate), asks its owner what to do with each CONNECT, and splices the stream to the upstream it gets.
import {
  createSecureServer,
  type Http2SecureServer,
  type IncomingHttpHeaders,
  type ServerHttp2Session,
  type ServerHttp2Stream,
} from 'node:http2';
import type { Server, Socket } from 'node:net';
import type { SecureContextOptions, TLSSocket } from 'node:tls';
import { parseInboundRequest } from './connect-headers.ts';
import type { ConnectDecision, Connection } from './connection.ts';
import { asError, HboneError } from './errors.ts';
import { H2_SETTINGS, MAX_SESSION_MEMORY_MB } from './h2-settings.ts';
import { widenConnectionWindow } from './h2-over-tls.ts';
import { peerIdentity } from './identity.ts';
import { splice, type SpliceResult } from './splice.ts';
import {
  SERVER_TLS_OPTIONS,
  secureContextOptions,
  TLS_VERSIONS,
  type WorkloadTlsMaterial,
} from './tls-options.ts';

/**
 * The certificate a listener presents: fixed material, or a function called for every new TLS connection (for
 * rotation). The function should return the same object until the material changes: a new object costs one
 * `createSecureContext` (PEM parsing, about a millisecond). It must include `ca`, the trust bundle.
 */
export type ServerTls = WorkloadTlsMaterial | (() => SecureContextOptions);

export interface HboneServerOptions {
  /** Decides each CONNECT. A throw is taken as an upstream failure and answered 503 (dialing is what throws). */
  onConnect(conn: Connection): Promise<ConnectDecision>;
  /** A spliced connection ended (metrics, access log). */
  onClose?(conn: Connection, result: SpliceResult): void;
  /** Handshake failures, refused requests and decision errors, for logs. */
  onError?(err: HboneError, peerAddress: string | undefined): void;
}

export interface Served {
  /** Stops taking connections from the listener and destroys its sessions; the listener itself stays the caller's. */
  close(): void;
}

function addressOf(host: string | undefined, port: number | undefined): string {
  if (host === undefined) return 'unknown';
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

export class HboneServer {
  readonly #opts: HboneServerOptions;
  readonly #served = new Set<Served>();

  constructor(opts: HboneServerOptions) {
    this.#opts = opts;
  }

  /** Serves HBONE on connections accepted by `listener` (already listening or not; its lifecycle is the caller's). */
  serve(listener: Server, tls: ServerTls): Served {
    // A function may not have material yet (a pod handed over before its certificate arrived): the server starts
    // without it, and each connection until then is refused (fail closed) rather than the listener failing.
    const material = (): SecureContextOptions | undefined => {
      if (typeof tls !== 'function') return secureContextOptions(tls);
      try {
        return tls();
      } catch {
        return undefined;
      }
    };
    let current = material();
    // Never listens: it only gets the sockets `listener` accepts, via 'connection'.
    const h2 = createSecureServer({
      ...current,
      ...TLS_VERSIONS,
      ...SERVER_TLS_OPTIONS,
      settings: H2_SETTINGS,
      maxSessionMemory: MAX_SESSION_MEMORY_MB,
    });
    const sessions = new Set<ServerHttp2Session>();
    this.#wire(h2, sessions);
    const onConnection = (socket: Socket) => {
      socket.setNoDelay(true);
      if (typeof tls === 'function') {
        const next = material();
        if (next === undefined) {
          this.#report(
            new HboneError('ERR_HBONE_TLS', 'no certificate to present yet; connection refused'),
            undefined,
          );
          socket.destroy();
          return;
        }
        if (next !== current) {
          current = next;
          h2.setSecureContext({ ...next, ...TLS_VERSIONS });
        }
      }
      h2.emit('connection', socket);
    };
    listener.on('connection', onConnection);
    const served: Served = {
      close: () => {
        listener.off('connection', onConnection);
        for (const s of sessions) s.destroy();
        this.#served.delete(served);
      },
    };
    this.#served.add(served);
    return served;
  }

  /** Stops serving every listener and destroys all sessions. */
  close(): Promise<void> {
    for (const s of [...this.#served]) s.close();
    return Promise.resolve();
  }

  #report(err: HboneError, peer: string | undefined): void {
    this.#opts.onError?.(err, peer);
  }

  #wire(h2: Http2SecureServer, sessions: Set<ServerHttp2Session>): void {
    h2.on('tlsClientError', (err: Error, socket: TLSSocket) => {
      this.#report(
        new HboneError('ERR_HBONE_TLS', 'inbound tls handshake failed', { cause: err }),
        addressOf(socket.remoteAddress, socket.remotePort),
      );
    });
    // A client that did not pick h2 is not an HBONE client: drop it now instead of Node's 403-and-timeout.
    h2.on('unknownProtocol', (socket: TLSSocket) => {
      this.#report(
        new HboneError(
          'ERR_HBONE_ALPN',
          `client did not negotiate ALPN h2 (got ${String(socket.alpnProtocol)})`,
        ),
        addressOf(socket.remoteAddress, socket.remotePort),
      );
      socket.destroy();
    });
    h2.on('sessionError', (err: Error) => {
      this.#report(
        new HboneError('ERR_HBONE_SESSION', 'inbound http/2 session failed', { cause: err }),
        undefined,
      );
    });
    h2.on('session', (session: ServerHttp2Session) => this.#onSession(session, sessions));
  }

  #onSession(session: ServerHttp2Session, sessions: Set<ServerHttp2Session>): void {
    const socket = session.socket as TLSSocket;
    const peerAddress = addressOf(socket.remoteAddress, socket.remotePort);
    const localAddress = addressOf(socket.localAddress, socket.localPort);
    let identity: string;
    try {
      identity = peerIdentity(socket.getPeerX509Certificate());
    } catch (err) {
      // The chain verified but names no workload: not a mesh peer.
      this.#report(
        err instanceof HboneError ? err : new HboneError('ERR_HBONE_IDENTITY', asError(err).message),
        peerAddress,
      );
      session.destroy();
      return;
    }
    sessions.add(session);
    session.once('close', () => sessions.delete(session));
    session.on('error', () => undefined); // reported through 'sessionError'
    widenConnectionWindow(session);
    session.on('stream', (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => {
      this.#onStream(stream, headers, identity, peerAddress, localAddress);
    });
  }

  #onStream(
    stream: ServerHttp2Stream,
    headers: IncomingHttpHeaders,
    peerIdentity: string,
    peerAddress: string,
    localAddress: string,
  ): void {
    // A client reset must not become an uncaught 'error'; splice installs its own handling later.
    stream.on('error', () => undefined);
    const req = parseInboundRequest(headers);
    if (req.kind === 'refuse') {
      this.#report(new HboneError('ERR_HBONE_REQUEST', req.reason), peerAddress);
      stream.respond({ ':status': req.status }, { endStream: true });
      return;
    }
    const conn: Connection = {
      authority: req.authority,
      peerIdentity,
      peerAddress,
      localAddress,
      headers: req.headers,
    };
    void this.#answer(stream, conn);
  }

  async #answer(stream: ServerHttp2Stream, conn: Connection): Promise<void> {
    let decision: ConnectDecision;
    try {
      decision = await this.#opts.onConnect(conn);
    } catch (err) {
      this.#report(
        new HboneError('ERR_HBONE_SESSION', `deciding CONNECT ${conn.authority} failed; answering 503`, {
          cause: err,
        }),
        conn.peerAddress,
      );
      decision = { status: 503 };
    }
    if (stream.destroyed || stream.closed) {
      // The client gave up while we decided; whatever was dialed for it goes too.
      if (decision.status === 200) decision.upstream.destroy();
      return;
    }
    if (decision.status !== 200) {
      stream.respond({ ':status': decision.status }, { endStream: true });
      return;
    }
    stream.respond({ ':status': 200 });
    const result = await splice(stream, decision.upstream);
    this.#opts.onClose?.(conn, result);
  }
}
