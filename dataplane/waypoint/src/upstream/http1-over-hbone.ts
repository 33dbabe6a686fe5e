// HTTP/1.1 to endpoints over HBONE streams: a keep-alive `http.Agent` whose "sockets" are CONNECT streams. One
// agent per cluster, so `maxTotalSockets` is the cluster's `maxConnections` and the agent's queue is Envoy's
// pending-request queue; a stream is named by endpoint and caller identity, so it is reused only for both.
import { Agent, type ClientRequest, type ClientRequestArgs } from 'node:http';
import type { Duplex } from 'node:stream';
import type { ConnectionPool } from '@ambit/config';
import { connectionReusable, type PoolCounters } from '../engine/index.ts';
import type { EndpointTarget } from './endpoint-target.ts';
import type { ForwardedSource, UpstreamConnector } from './upstream-connector.ts';

/** What a request carries to the agent besides Node's own options. */
export interface HboneRequestArgs extends ClientRequestArgs {
  readonly ambitTarget: EndpointTarget;
  readonly ambitSource?: ForwardedSource;
}

function isHboneArgs(o: ClientRequestArgs | undefined): o is HboneRequestArgs {
  return o !== undefined && 'ambitTarget' in o;
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
    return `${target.ip}:${target.port}|${source?.identity ?? ''}`;
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
      (stream) => callback(null, stream),
      // The agent hands the error to the waiting request (its 'error'), typed as the connector made it.
      (err: Error) => callback(err, undefined as unknown as Duplex),
    );
    return undefined;
  }

  /** Keep the stream unless it served `maxRequestsPerConnection` (Node's default would setKeepAlive a TCP socket). */
  override keepSocketAlive(socket: Duplex): boolean {
    const served = (this.#served.get(socket) ?? 0) + 1;
    this.#served.set(socket, served);
    return connectionReusable(this.#pool, served);
  }

  override reuseSocket(socket: Duplex, request: ClientRequest): void {
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
