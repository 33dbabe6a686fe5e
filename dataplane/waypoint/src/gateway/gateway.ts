// The ingress gateway proxy (issue 10): the north–south front on the waypoint's L7 engine. It listens on each
// listener port its route tables name, reads HTTP/1.1 or HTTP/2 (prior knowledge) from clients, decides every
// request with gateway-plan.ts (which ends in the waypoint's `planRule`), and forwards through the same handler,
// pool and HBONE connector as the waypoint, presenting its own identity (`<gateway>-<class>`). Decide, then act
// (STYLE §9): nothing here chooses a route, an endpoint or a verdict itself.
//
// Invariants:
//  1. The set of bound ports follows the config: a port whose table appears is bound, one whose table goes away
//     stops accepting (its open connections finish; their next requests find no table and get 404 NR).
//  2. Every request gets exactly one answer (upstream's, a local reply, or a reset) and one telemetry record
//     (request-handler.ts).
//  3. `update` only ever swaps in a whole accepted config; requests already decided finish under the old one.
//
// TLS seam (the HTTPS slice): `#accept` is where a listener with `protocol: 'HTTPS'` would wrap the socket in a
// TLSSocket (SecureContext per SNI hostname from the listener's certificates) and choose HTTP/2 or HTTP/1.1 by ALPN
// instead of sniffing; the scheme it passes on is already per listener.
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { EMPTY_STATE, type ConnectionFacts, type ProxyState } from '@ambit/config';
import { HboneClient, type HboneClientOptions } from '@ambit/hbone';
import { describeError } from '../describe.ts';
import type { DownstreamExchange } from '../downstream/exchange.ts';
import { H2Downstream } from '../downstream/h2-downstream.ts';
import { Http1Downstream } from '../downstream/http1-downstream.ts';
import { sniff } from '../downstream/sniff.ts';
import type { Rand } from '../engine/index.ts';
import type { WaypointCertificates } from '../proxy/waypoint.ts';
import {
  handleRequest,
  type HandlerDeps,
  type RequestScope,
  type SourceTelemetry,
} from '../proxy/request-handler.ts';
import type { WaypointMetrics } from '../telemetry/metrics.ts';
import { upstreamConnector } from '../upstream/upstream-connector.ts';
import { UpstreamPool } from '../upstream/upstream-pool.ts';
import { buildGatewayIndex, type GatewayIndex, type GatewayRef, type ListenerSpec } from './gateway-index.ts';
import { gatewayUpstreamH2, planGatewayRequest, withForwardedHeaders } from './gateway-plan.ts';

export interface GatewayOptions {
  /** The Gateway object served (what its route tables name). */
  readonly self: GatewayRef;
  /** `<gateway>-<class>`: the proxy's workload and canonical service name in telemetry. */
  readonly proxyName: string;
  /** Its SPIFFE id (`spiffe://<td>/ns/<ns>/sa/<gateway>-<class>`), presented on every HBONE connection. */
  readonly identity: string;
  readonly certs: WaypointCertificates;
  readonly metrics: WaypointMetrics;
  log(line: string): void;
  /** One JSON line per request. @default console.log */
  accessLog?(line: string): void;
  /** The address every listener binds. @default 0.0.0.0 */
  readonly listenAddress?: string;
  /** HBONE port of the destination ztunnels and waypoints. @default 15008 */
  readonly upstreamHbonePort?: number;
  /** How long a port that failed to bind waits before the next try. @default 1000 */
  readonly rebindMs?: number;
  readonly hboneClient?: HboneClientOptions;
  /** @default Math.random */
  readonly rand?: Rand;
  /** @default Date.now */
  now?(): number;
}

interface Listener {
  readonly spec: ListenerSpec;
  server?: Server;
  /** Why the port is not bound, while it is not. */
  error?: string;
}

/** IPv4-mapped IPv6 (`::ffff:a.b.c.d`) as the IPv4 address it is. */
function plainAddress(address: string | undefined): string {
  if (address === undefined) return '';
  return address.startsWith('::ffff:') ? address.slice('::ffff:'.length) : address;
}

export class Gateway {
  readonly #o: GatewayOptions;
  #index: GatewayIndex;
  readonly #client: HboneClient;
  readonly #pool: UpstreamPool;
  readonly #deps: HandlerDeps;
  readonly #telemetry: SourceTelemetry;
  readonly #http1: Http1Downstream<RequestScope>;
  readonly #h2: H2Downstream<RequestScope>;
  readonly #listeners = new Map<number, Listener>();
  readonly #sockets = new Set<Socket>();
  #inFlight = 0;
  #sync: Promise<void> = Promise.resolve();
  #rebind: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(o: GatewayOptions) {
    this.#o = o;
    this.#index = buildGatewayIndex(EMPTY_STATE, o.self);
    this.#client = new HboneClient(o.hboneClient);
    this.#pool = new UpstreamPool(
      upstreamConnector({
        hbone: this.#client,
        identity: o.identity,
        material: () => o.certs.get(o.identity),
        ...(o.upstreamHbonePort !== undefined ? { hbonePort: o.upstreamHbonePort } : {}),
      }),
    );
    this.#deps = {
      pool: this.#pool,
      metrics: o.metrics,
      rand: o.rand ?? Math.random,
      now: () => (o.now ? o.now() : Date.now()),
      accessLog: (line) => (o.accessLog ? o.accessLog(line) : console.log(line)),
      log: (line) => o.log(line),
    };
    // Istio's gateways report as the client side of the hop (`reporter="source"`), labelled as the gateway's own
    // workload; the security policy is only known to the destination's reporter, so it is `unknown` here.
    this.#telemetry = {
      labels: {
        reporter: 'source',
        source_workload: o.proxyName,
        source_canonical_service: o.proxyName,
        source_workload_namespace: o.self.namespace,
        source_principal: o.identity,
        connection_security_policy: 'unknown',
      },
      peerPrincipal: null,
    };
    const onExchange = (scope: RequestScope, ex: DownstreamExchange) => {
      this.#inFlight++;
      void handleRequest(this.#deps, scope, ex)
        .catch((err: unknown) => {
          o.log(`request on ${scope.authority} failed unexpectedly: ${describeError(err)}`);
          ex.reset();
        })
        .finally(() => this.#inFlight--);
    };
    this.#http1 = new Http1Downstream(onExchange);
    this.#h2 = new H2Downstream(onExchange);
  }

  get state(): ProxyState {
    return this.#index.state;
  }

  /** The bound listener ports and the address each listens on. */
  get listening(): ReadonlyMap<number, AddressInfo> {
    const out = new Map<number, AddressInfo>();
    for (const [port, l] of this.#listeners) {
      const a = l.server?.address();
      if (a && typeof a === 'object') out.set(port, a);
    }
    return out;
  }

  /** Requests being handled now. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /** Why the gateway should not take traffic yet, or undefined when it should (the health port's answer). */
  notReady(): string | undefined {
    if (this.#index.state.version === '') return 'waiting for the first config';
    const failed = [...this.#listeners.entries()].filter(([, l]) => l.error !== undefined);
    if (failed.length > 0) return failed.map(([p, l]) => `listener :${p}: ${l.error ?? ''}`).join('; ');
    if ([...this.#listeners.values()].some((l) => !l.server)) return 'binding listeners';
    return undefined;
  }

  /**
   * Swaps in a new accepted config: the next request on every connection is decided under it, and the listeners
   * follow its tables. Resolves once the listener changes are made (or have failed and been scheduled again).
   */
  update(state: ProxyState): Promise<void> {
    this.#index = buildGatewayIndex(state, this.#o.self);
    return this.#reconcile();
  }

  /** Stops taking connections, lets requests in flight finish for up to `graceMs`, then closes everything. */
  async drain(graceMs: number): Promise<void> {
    this.#stopListening();
    const deadline = Date.now() + graceMs;
    while (this.#inFlight > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    this.close();
  }

  /** Closes everything now (tests, and the end of a drain). */
  close(): void {
    this.#stopListening();
    for (const s of this.#sockets) s.destroy();
    this.#http1.close();
    this.#pool.close();
    this.#client.destroy();
  }

  #stopListening(): void {
    this.#closed = true;
    clearTimeout(this.#rebind);
    for (const l of this.#listeners.values()) l.server?.close();
    this.#listeners.clear();
  }

  #reconcile(): Promise<void> {
    this.#sync = this.#sync.then(() => this.#apply());
    return this.#sync;
  }

  /** Invariant 1: bind what the tables name and is not bound, close what they no longer name. */
  async #apply(): Promise<void> {
    if (this.#closed) return;
    const wanted = new Map(this.#index.listeners.map((l) => [l.port, l]));
    for (const [port, l] of this.#listeners) {
      if (wanted.has(port)) continue;
      l.server?.close();
      this.#listeners.delete(port);
      this.#o.log(`listener :${port} closed (no route table names it any more)`);
    }
    for (const spec of wanted.values()) {
      const l = this.#listeners.get(spec.port) ?? { spec };
      this.#listeners.set(spec.port, l);
      if (!l.server) await this.#bind(l);
    }
    if ([...this.#listeners.values()].some((l) => l.error !== undefined) && !this.#closed) {
      clearTimeout(this.#rebind);
      this.#rebind = setTimeout(() => void this.#reconcile(), this.#o.rebindMs ?? 1000);
      this.#rebind.unref();
    }
  }

  async #bind(l: Listener): Promise<void> {
    const { port } = l.spec;
    const server = createServer({ allowHalfOpen: false, noDelay: true });
    server.on('connection', (socket: Socket) => this.#accept(l.spec, socket));
    const host = this.#o.listenAddress ?? '0.0.0.0';
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          resolve();
        });
      });
    } catch (err) {
      l.error = describeError(err);
      this.#o.log(`listener :${port} could not bind ${host}: ${l.error}; trying again`);
      return;
    }
    server.on('error', (err) => this.#o.log(`listener :${port}: ${describeError(err)}`));
    delete l.error;
    // Removed while binding (a newer config, or a drain): never leave it open.
    if (this.#closed || this.#listeners.get(port) !== l) return void server.close();
    l.server = server;
    this.#o.log(`listener :${port} serving ${l.spec.protocol} on ${host}`);
  }

  #accept(spec: ListenerSpec, socket: Socket): void {
    this.#sockets.add(socket);
    socket.once('close', () => this.#sockets.delete(socket));
    // The HTTP server or session handed the socket reports its errors; before that there is nothing to tell.
    socket.on('error', () => undefined);
    const scope = this.#scope(spec, socket, 'http');
    void sniff(socket).then((kind) => {
      if (socket.destroyed) return;
      if (socket.readableEnded && socket.readableLength === 0) return void socket.end();
      if (kind === 'h2') this.#h2.accept(socket, scope);
      else this.#http1.accept(socket, scope, '');
    });
  }

  /** What every request on one client connection shares (request-handler.ts `RequestScope`). */
  #scope(spec: ListenerSpec, socket: Socket, scheme: 'http' | 'https'): RequestScope {
    const clientIp = plainAddress(socket.remoteAddress);
    const conn: ConnectionFacts = {
      sourceIp: clientIp,
      destinationIp: plainAddress(socket.localAddress),
      destinationPort: spec.port,
    };
    return {
      authority: `listener :${spec.port}`,
      port: spec.port,
      conn,
      telemetry: this.#telemetry,
      decide: (facts, rand) => {
        const index = this.#index;
        return {
          plan: planGatewayRequest(
            index,
            spec.port,
            conn,
            withForwardedHeaders(facts, clientIp, scheme),
            rand,
          ),
          workloads: index.state.workloads,
        };
      },
      upstreamH2: gatewayUpstreamH2,
    };
  }
}
