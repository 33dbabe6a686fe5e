// The HBONE client: CONNECT streams to `address` through `proxy`, over pooled mutual-TLS HTTP/2 sessions keyed by
// (source identity, destination identities, source IP, proxy). Used by the ztunnel outbound path and the waypoint.
import type { Duplex } from 'node:stream';
import { connectRequestHeaders, parseAddress, type ConnectHeaderOptions } from './connect-headers.ts';
import { HboneError } from './errors.ts';
import { MAX_STREAMS_PER_SESSION } from './h2-settings.ts';
import { openH2OverTls } from './h2-over-tls.ts';
import { poolKey } from './pool-key.ts';
import { SessionPool, type PoolStats } from './session-pool.ts';
import { defaultSocketFactory, type SocketFactory } from './socket-factory.ts';
import { clientTlsOptions, type WorkloadTlsMaterial } from './tls-options.ts';
import { openConnectStream } from './connect-over-h2.ts';

export interface HboneSource extends WorkloadTlsMaterial {
  /** SPIFFE id of `cert`; part of the pool key (not re-derived from the PEM on every request). */
  readonly identity: string;
  /** Local address to dial from (the source pod's IP). */
  readonly ip?: string;
}

export interface HboneDestination {
  /** The original destination `ip:port`, sent as `:authority`. */
  readonly address: string;
  /** Where to dial, `ip:port`: the destination node's ztunnel (podIP:15008) or a waypoint. */
  readonly proxy: string;
  /** SPIFFE ids the proxy may present; anything else fails the handshake with `ERR_HBONE_IDENTITY`. */
  readonly identities: readonly string[];
}

export interface ConnectRequest {
  readonly source: HboneSource;
  readonly destination: HboneDestination;
  readonly headers?: ConnectHeaderOptions;
}

export interface HboneClientOptions {
  /** @default net.connect in this process's network namespace */
  readonly socketFactory?: SocketFactory;
  /** Close a pooled session after it has carried no stream for this long. @default 60_000 */
  readonly idleTimeoutMs?: number;
  /** Streams per session before the pool opens another. @default 100 (DESIGN §7) */
  readonly maxStreamsPerSession?: number;
  /** Deadline for dial + TLS handshake + HTTP/2 preface of a new session. @default 10_000 */
  readonly connectTimeoutMs?: number;
}

export class HboneClient {
  readonly #pool: SessionPool;
  readonly #socketFactory: SocketFactory;
  readonly #connectTimeoutMs: number;

  constructor(opts: HboneClientOptions = {}) {
    this.#socketFactory = opts.socketFactory ?? defaultSocketFactory;
    this.#connectTimeoutMs = opts.connectTimeoutMs ?? 10_000;
    this.#pool = new SessionPool({
      maxStreams: opts.maxStreamsPerSession ?? MAX_STREAMS_PER_SESSION,
      idleTimeoutMs: opts.idleTimeoutMs ?? 60_000,
    });
  }

  /**
   * Opens a CONNECT stream and resolves with it after the server's 200. The stream is the tunnel: write to send,
   * `end()` to half-close, `destroy()` to reset. Rejects with `HboneError`: `ERR_HBONE_CONNECT_STATUS` (and
   * `status`) when refused, `ERR_HBONE_IDENTITY`, `ERR_HBONE_TLS`, `ERR_HBONE_ALPN`, `ERR_HBONE_DIAL`,
   * `ERR_HBONE_TIMEOUT`, `ERR_HBONE_SESSION`, `ERR_HBONE_REQUEST`.
   */
  async connect(req: ConnectRequest): Promise<Duplex> {
    const { source, destination } = req;
    const proxy = parseAddress(destination.proxy);
    if (proxy === undefined) {
      throw new HboneError('ERR_HBONE_REQUEST', `proxy ${JSON.stringify(destination.proxy)} is not ip:port`);
    }
    if (parseAddress(destination.address) === undefined) {
      throw new HboneError(
        'ERR_HBONE_REQUEST',
        `address ${JSON.stringify(destination.address)} is not ip:port`,
      );
    }
    if (destination.identities.length === 0) {
      throw new HboneError(
        'ERR_HBONE_REQUEST',
        `no expected identity for ${destination.proxy}; refusing to dial`,
      );
    }
    const key = poolKey({
      sourceIdentity: source.identity,
      destinationIdentities: destination.identities,
      ...(source.ip !== undefined ? { sourceIp: source.ip } : {}),
      proxy: destination.proxy,
    });
    const lease = this.#pool.acquire(key, () =>
      openH2OverTls({
        socketFactory: this.#socketFactory,
        proxy,
        ...(source.ip !== undefined ? { sourceIp: source.ip } : {}),
        tls: clientTlsOptions(source, destination.identities),
        timeoutMs: this.#connectTimeoutMs,
      }),
    );
    let session;
    try {
      session = await lease.session;
    } catch (err) {
      lease.release();
      throw err;
    }
    return openConnectStream(session, connectRequestHeaders(destination.address, req.headers), lease.release);
  }

  /** Sessions and streams in the pool, for tests and the admin endpoint. */
  stats(): PoolStats {
    return this.#pool.stats();
  }

  /**
   * GOAWAY on every session; resolves once the streams in flight have finished. New `connect` calls fail with
   * `ERR_HBONE_CLOSED`.
   */
  close(): Promise<void> {
    return this.#pool.close();
  }

  /** Destroys every session and stream now (shutdown after a drain deadline, tests). */
  destroy(): void {
    this.#pool.destroy();
  }
}
