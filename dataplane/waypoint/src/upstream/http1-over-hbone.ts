// HTTP/1.1 to endpoints over HBONE streams: a keep-alive `http.Agent` whose "sockets" are CONNECT streams. One
// agent per cluster, so `maxTotalSockets` is the cluster's `maxConnections` and the agent's queue is Envoy's
// pending-request queue; a stream is named by endpoint and caller identity, so it is reused only for both.
import { Agent, type ClientRequest, type ClientRequestArgs } from 'node:http';
import { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { ConnectionPool } from '@ambit/config';
import { connectionReusable, type PoolCounters } from '../engine/index.ts';
import { streamKey, type EndpointTarget } from './endpoint-target.ts';
import type { ForwardedSource, UpstreamConnector } from './upstream-connector.ts';

/** What a request carries to the agent besides Node's own options. */
export interface HboneRequestArgs extends ClientRequestArgs {
  readonly ambitTarget: EndpointTarget;
  readonly ambitSource?: ForwardedSource;
}

function isHboneArgs(o: ClientRequestArgs | undefined): o is HboneRequestArgs {
  return o !== undefined && 'ambitTarget' in o;
}

type WritevChunks = Parameters<NonNullable<Duplex['_writev']>>[0];

/**
 * Drops zero-length chunks from every batched write (`_writev`) the stream gets, keeping the batch's callback.
 *
 * Why: a use-after-free in Node's HTTP/2 streams (seen on Node 24.21). An Http2Stream queues a batch's buffers and
 * ties the write request (which owns the native copy of the batch's string chunks) to the batch's last buffer. A
 * zero-length buffer at the head of the queue is finished at once, so when the last buffer is empty the request
 * is released, and the string copies freed, while nghttp2 still has the earlier buffers to send: they go out as
 * freed heap. `http.ClientRequest` writes exactly such a batch when the body is written in the same tick as the
 * head: the head (a string), the body, then `end()`'s empty string. The destination then reads a request line of
 * garbage and answers 400. Without empty chunks the request stays alive until its last real byte is sent.
 */
export function dropEmptyWrites<S extends Duplex>(stream: S): S {
  const writev = stream._writev?.bind(stream);
  if (writev === undefined) return stream;
  const length = (c: unknown): number =>
    typeof c === 'string' ? c.length : c instanceof Uint8Array ? c.byteLength : 1;
  stream._writev = (chunks: WritevChunks, callback: (error?: Error | null) => void) => {
    const kept = chunks.filter((c) => length(c.chunk) > 0);
    if (kept.length === chunks.length) return writev(chunks, callback);
    if (kept.length === 0) return process.nextTick(callback);
    // Writable hands `_writev` its batch with `allBuffers` set, and Node's stream base reads it.
    writev(Object.assign(kept, { allBuffers: kept.every((c) => Buffer.isBuffer(c.chunk)) }), callback);
  };
  return stream;
}

/**
 * Finishes our side of a stream once the peer finished its own, as a TCP socket without `allowHalfOpen` does,
 * so that the stream closes and the agent drops it. An HTTP/2 stream stays half-open instead: a backend that
 * closes an idle keep-alive connection (Node's server does after 5 s) reaches us as END_STREAM through its
 * ztunnel, and the agent would hand that dead stream to the next request, which would wait forever for an answer.
 */
export function endWithPeer<S extends Duplex>(stream: S): S {
  stream.once('end', () => {
    if (!stream.writableEnded) stream.end();
  });
  return stream;
}

/**
 * What Node's `Agent.prototype.reuseSocket` does, minus `socket.ref()` (an HTTP/2 stream has no handle to ref):
 * drop the 'error' listener the agent put on the socket while it was free, or one accumulates per reuse.
 */
export function reuseStream(socket: Duplex, request: ClientRequest): void {
  for (const l of socket.listeners('error')) {
    if ((l as { name?: string }).name === 'freeSocketErrorListener')
      socket.removeListener('error', l as () => void);
  }
  request.reusedSocket = true;
}

export class HboneAgent extends Agent {
  readonly #connect: UpstreamConnector;
  #pool: ConnectionPool | undefined;
  /** Requests finished per stream, for `maxRequestsPerConnection`. */
  readonly #served = new WeakMap<Duplex, number>();

  constructor(connect: UpstreamConnector, pool: ConnectionPool | undefined) {
    // Idle streams close after 60 s of no use (the agent only times out free sockets).
    super({ keepAlive: true, timeout: 60_000, scheduling: 'lifo' });
    this.#connect = connect;
    this.#pool = undefined;
    this.setPool(pool);
  }

  /** Applies a changed DestinationRule connection pool to this cluster's agent. */
  setPool(pool: ConnectionPool | undefined): void {
    this.#pool = pool;
    this.maxTotalSockets = pool?.maxConnections ?? Infinity;
    this.maxSockets = pool?.maxConnections ?? Infinity;
  }

  /** The pool name of a stream to `target` for `source`: streams are reused only for both. */
  static nameOf(target: EndpointTarget, source: ForwardedSource | undefined): string {
    return streamKey(target, source?.identity);
  }

  override getName(options?: ClientRequestArgs): string {
    if (!isHboneArgs(options)) return super.getName(options);
    return HboneAgent.nameOf(options.ambitTarget, options.ambitSource);
  }

  override createConnection(
    options: ClientRequestArgs,
    callback?: (err: Error | null, stream: Duplex) => void,
  ): Duplex | null | undefined {
    if (!isHboneArgs(options) || !callback) throw new Error('HboneAgent needs ambitTarget and a callback');
    this.#connect(options.ambitTarget, options.ambitSource).then(
      (stream) => callback(null, endWithPeer(dropEmptyWrites(stream))),
      // The agent hands the error to the waiting request (its 'error'), typed as the connector made it.
      (err: Error) => callback(err, undefined as unknown as Duplex),
    );
    return undefined;
  }

  /**
   * Keep the stream unless its peer finished it or it served `maxRequestsPerConnection` (Node's default would
   * setKeepAlive a TCP socket).
   */
  override keepSocketAlive(socket: Duplex): boolean {
    if (socket.readableEnded) return false; // the peer is done with it
    const served = (this.#served.get(socket) ?? 0) + 1;
    this.#served.set(socket, served);
    return connectionReusable(this.#pool, served);
  }

  /**
   * A TCP socket (plain TCP to a backend outside the mesh) takes Node's own reuse: besides ref() it lifts the guard
   * Node 24 puts on an idle socket's reads (hackerone 3582376, response-queue poisoning), which otherwise destroys
   * the socket when the next response arrives ("socket hang up" on every reused connection). An HBONE stream has
   * no handle to guard or ref.
   */
  override reuseSocket(socket: Duplex, request: ClientRequest): void {
    if (socket instanceof Socket) return super.reuseSocket(socket, request);
    reuseStream(socket, request);
  }

  /** The connection-pool counters the engine's `admit` reads, for one endpoint-and-caller name. */
  counters(name: string): PoolCounters {
    const sum = (d: NodeJS.ReadOnlyDict<readonly unknown[]>) =>
      Object.values(d).reduce((n, list) => n + (list?.length ?? 0), 0);
    return {
      connections: sum(this.sockets) + sum(this.freeSockets),
      idleConnections: this.freeSockets[name]?.length ?? 0,
      pendingRequests: sum(this.requests),
    };
  }
}
