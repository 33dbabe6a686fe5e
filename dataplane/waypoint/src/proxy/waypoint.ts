// The waypoint proxy (issue 6): terminates HBONE with its own certificate, reads HTTP/1.1 or HTTP/2 (or plain TCP)
// inside each CONNECT stream, decides every request with the engine, and forwards it over HBONE to the chosen
// endpoint's ztunnel. Decide, then act (STYLE §9): nothing here chooses a route, an endpoint or a verdict itself.
//
// Why a duplex pair: `HboneServer` splices each accepted CONNECT stream to the `upstream` Duplex of the decision.
// The waypoint is its own upstream, so the decision returns one end of `stream.duplexPair()` and hands the other
// end to the in-process HTTP server (as if it were an accepted socket). The cost is one extra in-memory hop per
// chunk; the gain is that HBONE termination (TLS, h2 windows, teardown, backpressure via `splice`) stays the
// library's, exactly as at the ztunnel. TCP ports skip the pair: their decision returns the upstream HBONE stream.
// A pair carries a destroy across only half (Node 24): without an error, the other end just reads EOF, and its
// writable side stays open with writes that never call back. So when the HTTP server drops its end without
// finishing it (a reset after the response began, shutdown), the other end is destroyed too and the splice resets
// the caller's CONNECT stream, which would otherwise stay open and be held here for good.
//
// Invariants:
//  1. A CONNECT to an address this waypoint does not front is answered 503 before anything is read.
//  2. Every request gets exactly one answer (upstream's, a local reply, or a reset) and one telemetry record.
//  3. `update` only ever swaps in a whole accepted config; requests already decided finish under the old one.
import { duplexPair, type Duplex } from 'node:stream';
import type net from 'node:net';
import type { SecureContextOptions } from 'node:tls';
import { EMPTY_STATE, type ProxyState, type WaypointRef } from '@ambit/config';
import {
  HboneClient,
  HboneServer,
  parseAddress,
  resetDuplex,
  secureContextOptions,
  splice,
  type ConnectDecision,
  type Connection,
  type HboneClientOptions,
  type Served,
  type WorkloadTlsMaterial,
} from '@ambit/hbone';
import { pickEndpoint, type Rand } from '../engine/index.ts';
import { describeError } from '../describe.ts';
import { H2Downstream } from '../downstream/h2-downstream.ts';
import { Http1Downstream } from '../downstream/http1-downstream.ts';
import { sniff } from '../downstream/sniff.ts';
import { planTcp } from '../plan/tcp-plan.ts';
import { buildIndex, portProtocol, type Destination, type WaypointIndex } from '../state/waypoint-index.ts';
import type { WaypointMetrics } from '../telemetry/metrics.ts';
import { endpointTarget } from '../upstream/endpoint-target.ts';
import { upstreamConnector, type UpstreamConnector } from '../upstream/upstream-connector.ts';
import { UpstreamPool } from '../upstream/upstream-pool.ts';
import { connectionContext, waypointRequestScope, type ConnectionContext } from './connection-context.ts';
import { handleRequest, type HandlerDeps, type RequestScope } from './request-handler.ts';

/** The certificate source: `CertManager` from @ambit/ztunnel satisfies it. */
export interface WaypointCertificates {
  get(identity: string): Promise<WorkloadTlsMaterial>;
  /** The material held now, without fetching (the listener presents it per handshake). */
  peek(identity: string): WorkloadTlsMaterial | undefined;
}

export interface WaypointOptions {
  /** The Gateway this waypoint runs for (what Services and workloads name in `waypoint`). */
  readonly self: WaypointRef;
  /** Its SPIFFE id (`spiffe://<td>/ns/<ns>/sa/<name>`). */
  readonly identity: string;
  readonly certs: WaypointCertificates;
  readonly metrics: WaypointMetrics;
  log(line: string): void;
  /** One JSON line per request. @default console.log */
  accessLog?(line: string): void;
  /** HBONE port of the destination ztunnels. @default 15008 */
  readonly upstreamHbonePort?: number;
  /** How long a `detect` port waits for the caller's first bytes before treating it as TCP. @default 100 */
  readonly detectTimeoutMs?: number;
  readonly hboneClient?: HboneClientOptions;
  /** @default Math.random */
  readonly rand?: Rand;
  /** @default Date.now */
  now?(): number;
}

export class Waypoint {
  readonly #o: WaypointOptions;
  #index: WaypointIndex;
  readonly #client: HboneClient;
  readonly #server: HboneServer;
  readonly #connect: UpstreamConnector;
  readonly #pool: UpstreamPool;
  readonly #http1: Http1Downstream<RequestScope>;
  readonly #h2: H2Downstream<RequestScope>;
  readonly #deps: HandlerDeps;
  readonly #open = new Set<Duplex>();

  constructor(o: WaypointOptions) {
    this.#o = o;
    this.#index = buildIndex(EMPTY_STATE, o.self);
    this.#client = new HboneClient(o.hboneClient);
    this.#connect = upstreamConnector({
      hbone: this.#client,
      identity: o.identity,
      material: () => o.certs.get(o.identity),
      ...(o.upstreamHbonePort !== undefined ? { hbonePort: o.upstreamHbonePort } : {}),
    });
    this.#pool = new UpstreamPool(this.#connect);
    this.#deps = {
      pool: this.#pool,
      metrics: o.metrics,
      rand: o.rand ?? Math.random,
      now: () => (o.now ? o.now() : Date.now()),
      accessLog: (line) => (o.accessLog ? o.accessLog(line) : console.log(line)),
      log: (line) => o.log(line),
    };
    const onExchange = (ctx: RequestScope, ex: Parameters<typeof handleRequest>[2]) =>
      void handleRequest(this.#deps, ctx, ex).catch((err: unknown) => {
        o.log(`request to ${ctx.authority} failed unexpectedly: ${describeError(err)}`);
        ex.reset();
      });
    this.#http1 = new Http1Downstream(onExchange);
    this.#h2 = new H2Downstream(onExchange);
    this.#server = new HboneServer({
      onConnect: (conn) => this.#onConnect(conn),
      onError: (err, peer) => o.log(`hbone inbound from ${peer ?? '?'}: ${err.message}`),
    });
  }

  get state(): ProxyState {
    return this.#index.state;
  }

  /** Swaps in a new accepted config; the next request on every connection is decided under it. */
  update(state: ProxyState): void {
    this.#index = buildIndex(state, this.#o.self);
  }

  /** Fetches the waypoint's certificate (so the first handshake need not wait) and serves HBONE on `listener`. */
  async serve(listener: net.Server): Promise<Served> {
    await this.#o.certs.get(this.#o.identity);
    // The same options object until the certificate changes: a new one costs a secure-context rebuild.
    const contexts = new WeakMap<WorkloadTlsMaterial, SecureContextOptions>();
    return this.#server.serve(listener, () => {
      const m = this.#o.certs.peek(this.#o.identity);
      if (!m) throw new Error(`no certificate yet for ${this.#o.identity}`);
      let options = contexts.get(m);
      if (!options) contexts.set(m, (options = secureContextOptions(m)));
      return options;
    });
  }

  /** Streams open now (CONNECTs being served), for readiness and drain. */
  get openStreams(): number {
    return this.#open.size;
  }

  /** Stops taking CONNECTs, lets open ones finish for up to `graceMs`, then resets the rest. */
  async drain(graceMs: number): Promise<void> {
    await this.#server.close().catch(() => undefined);
    const deadline = Date.now() + graceMs;
    while (this.#open.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    for (const d of this.#open) resetDuplex(d, new Error('waypoint shutting down'));
    this.close();
  }

  /** Closes everything now (tests, and the end of a drain). */
  close(): void {
    void this.#server.close();
    this.#http1.close();
    this.#pool.close();
    this.#client.destroy();
  }

  #track(d: Duplex): void {
    this.#open.add(d);
    d.once('close', () => this.#open.delete(d));
  }

  async #onConnect(c: Connection): Promise<ConnectDecision> {
    const addr = parseAddress(c.authority);
    const index = this.#index;
    const destination = addr ? index.destination(addr.host, addr.port) : undefined;
    if (!destination) {
      this.#o.log(`CONNECT ${c.authority} from ${c.peerIdentity}: not a destination this waypoint fronts`);
      return { status: 503, reason: `${c.authority} is not fronted by this waypoint` };
    }
    const ctx = connectionContext(index, c, destination);
    const protocol = portProtocol(
      destination.kind === 'service' ? destination.port : destination.servicePort,
    );
    if (protocol === 'tcp') {
      const upstream = await this.#tcpUpstream(index, ctx);
      if (!upstream) return { status: 401, reason: 'denied by policy' };
      this.#track(upstream);
      return { status: 200, upstream };
    }
    const [outer, inner] = duplexPair();
    this.#track(outer);
    inner.on('error', () => undefined); // the splice on `outer` reports teardown
    // Dropped without finishing its side: the caller's stream is reset (an orderly end travels as EOF already).
    inner.once('close', () => {
      if (!inner.writableFinished) outer.destroy();
    });
    void this.#serveStream(inner, ctx, protocol === 'detect' ? (this.#o.detectTimeoutMs ?? 100) : undefined);
    return { status: 200, upstream: outer };
  }

  async #serveStream(
    inner: Duplex,
    ctx: ConnectionContext,
    detectTimeoutMs: number | undefined,
  ): Promise<void> {
    const kind = await sniff(inner, detectTimeoutMs);
    // A caller that half-closed without sending a byte: nothing to serve, so finish our side too (an HTTP server
    // handed an already-ended stream would never see its end and keep it open).
    if (inner.readableEnded && inner.readableLength === 0) {
      inner.end();
      return;
    }
    const scope = waypointRequestScope(ctx, () => this.#index);
    if (kind === 'h2') return this.#h2.accept(inner, scope);
    if (kind === 'http1' || detectTimeoutMs === undefined)
      return this.#http1.accept(inner, scope, ctx.authority);
    // Not HTTP on a port left to detection: proxied as TCP, under L4 policy.
    const upstream = await this.#tcpUpstream(this.#index, ctx).catch((err: unknown) => {
      this.#o.log(`tcp ${ctx.authority}: ${describeError(err)}`);
      return undefined;
    });
    if (!upstream) return resetDuplex(inner, new Error('denied or unreachable'));
    await splice(inner, upstream);
  }

  /** L4 authorization and one endpoint for a whole connection; undefined when denied. Throws when unreachable. */
  async #tcpUpstream(index: WaypointIndex, ctx: ConnectionContext): Promise<Duplex | undefined> {
    const plan = planTcp(index, ctx.destination, ctx.conn);
    if (plan.kind === 'deny') {
      this.#o.log(
        `tcp ${ctx.conn.peer?.principal ?? ctx.conn.sourceIp} → ${ctx.authority}: ${plan.decision.reason}`,
      );
      return undefined;
    }
    const { endpoints, trafficPolicy } = plan.cluster.target;
    const cluster = this.#pool.cluster(plan.cluster.id, trafficPolicy);
    const pick = pickEndpoint(endpoints, cluster.policy, cluster.lbState(this.#deps.now()), this.#deps.rand);
    if (!pick) throw new Error(`no healthy endpoint in ${plan.cluster.id}`);
    cluster.cursor = pick.cursor;
    const target = endpointTarget(index.state.workloads, pick.endpoint, plan.cluster.backend.port);
    return this.#connect(target, ctx.source);
  }
}

export type { Destination };
