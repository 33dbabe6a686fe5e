// The TypeScript transport (ZTUNNEL_TRANSPORT=typescript): Node listeners made inside each pod's netns by the native
// addon, HBONE by @ambit/hbone, bytes spliced by Node streams. It carries the actions the ztunnel decides (core.ts).
//
// Invariants:
//  1. Every accepted connection is either spliced to an upstream or reset (the app sees ECONNRESET, curl exit 56),
//     never left hanging.
//  2. A delivery into a pod is tracked while open, so a config change that no longer allows it resets it.
//  3. Counters open once the upstream is connected; their bytes are the splice's, request direction as `toTarget`.
import type net from 'node:net';
import type { Duplex } from 'node:stream';
import {
  HboneClient,
  HboneError,
  HboneServer,
  resetDuplex,
  secureContextOptions,
  splice,
  type ConnectDecision,
  type Connection,
} from '@ambit/hbone';
import type { ConnectionCounters } from '../telemetry/metrics.ts';
import {
  address,
  errorText,
  type Delivery,
  type HandedPod,
  type LiveInbound,
  type PodListeners,
  type ProxyCore,
  type Transport,
} from './core.ts';
import { PROXY_MARK, type Sockets } from './sockets.ts';
import { tlsMaterial } from './tls-material.ts';

function reset(socket: net.Socket): void {
  if (!socket.destroyed) socket.resetAndDestroy();
}

export class TypeScriptTransport implements Transport {
  readonly #core: ProxyCore;
  readonly #sockets: Sockets;
  readonly #client: HboneClient;
  readonly #server: HboneServer;
  readonly #inbound = new Map<Connection, { counters: ConnectionCounters; live: LiveInbound }>();
  /** Served pods by IP, for the HBONE client's dials. */
  readonly #pods = new Map<string, HandedPod>();
  /** Outbound and plaintext splices in flight. */
  #splicing = 0;

  constructor(core: ProxyCore, sockets: Sockets) {
    this.#core = core;
    this.#sockets = sockets;
    this.#client = new HboneClient({
      // HBONE leaves from the source pod's netns, marked so its own redirect lets it out.
      socketFactory: async ({ host, port, sourceIp }) => {
        const pod = sourceIp ? this.#pods.get(sourceIp) : undefined;
        if (!pod) throw new Error(`no pod with IP ${sourceIp ?? '?'} on this node to dial from`);
        const s = await sockets.connect({ netnsPath: pod.netns, host, port, mark: PROXY_MARK });
        s.setNoDelay(true);
        return s;
      },
    });
    this.#server = new HboneServer({
      onConnect: (conn) => this.#onHbone(conn),
      onClose: (conn, result) => {
        const entry = this.#inbound.get(conn);
        if (!entry) return;
        this.#inbound.delete(conn);
        entry.counters.end({ toTarget: result.aToB, fromTarget: result.bToA });
        this.#core.untrack(entry.live);
      },
      onError: (err, peer) => core.log(`hbone inbound from ${peer ?? '?'}: ${err.message}`),
    });
  }

  serve(pod: HandedPod): PodListeners {
    const ports = this.#core.ports;
    const listen = (port: number, transparent: boolean): net.Server =>
      this.#sockets.listen({ netnsPath: pod.netns, host: '0.0.0.0', port, transparent });
    const servers: net.Server[] = [];
    try {
      servers.push(
        listen(ports.outbound, false),
        listen(ports.inboundPlain, true),
        listen(ports.hbone, true),
      );
    } catch (err) {
      for (const s of servers) s.close();
      throw err;
    }
    const [outbound, plain, hbone] = servers as [net.Server, net.Server, net.Server];
    outbound.on('connection', (s: net.Socket) => void this.#onOutbound(pod, s));
    plain.on('connection', (s: net.Socket) => void this.#onPlaintext(pod, s));
    const served = this.#server.serve(hbone, () => {
      const cert = this.#core.certificateOf(pod);
      if (!cert) throw new Error(`no certificate yet for pod ${pod.namespace}/${pod.name}`);
      return secureContextOptions(tlsMaterial(cert));
    });
    for (const ip of pod.ips) this.#pods.set(ip, pod);
    return {
      stop: () => {
        for (const ip of pod.ips) if (this.#pods.get(ip) === pod) this.#pods.delete(ip);
        served.close();
        for (const s of servers) s.close();
      },
    };
  }

  refresh(): void {
    // Each HBONE handshake asks `certificateOf` afresh.
  }

  open(): number {
    return this.#splicing + this.#inbound.size;
  }

  async close(): Promise<void> {
    await this.#client.close();
    await this.#server.close();
  }

  async #onOutbound(pod: HandedPod, socket: net.Socket): Promise<void> {
    socket.on('error', () => undefined);
    let destination;
    try {
      const d = this.#sockets.originalDestination(socket);
      destination = { ip: d.host, port: d.port };
    } catch (err) {
      this.#core.log(`outbound from ${pod.namespace}/${pod.name}: no original destination: ${String(err)}`);
      return reset(socket);
    }
    const sourceIp = socket.remoteAddress ?? pod.ips[0] ?? '';
    const action = this.#core.outbound(pod, sourceIp, destination);
    if (action.kind === 'refuse') return reset(socket);
    const metrics = this.#core.metrics;
    try {
      switch (action.kind) {
        case 'passthrough': {
          const upstream = await this.#sockets.connect({
            netnsPath: pod.netns,
            host: action.target.ip,
            port: action.target.port,
            mark: PROXY_MARK,
          });
          return await this.#splice(socket, upstream, metrics.open(action.telemetry));
        }
        case 'local': {
          const upstream = await this.#deliver(action.delivery);
          const counters = metrics.open(action.telemetry);
          const live = this.#track(action.delivery, upstream);
          await this.#splice(socket, upstream, counters);
          this.#core.untrack(live);
          return;
        }
        case 'hbone': {
          const cert = tlsMaterial(await this.#core.certs.get(action.sourceIdentity));
          const stream = await this.#client.connect({
            source: { ...cert, identity: action.sourceIdentity, ip: sourceIp },
            destination: {
              address: address(action.authority),
              proxy: address(action.proxy),
              identities: action.identities,
            },
            headers: { forwardedFor: sourceIp },
          });
          return await this.#splice(socket, stream, metrics.open(action.telemetry));
        }
      }
    } catch (err) {
      const status = err instanceof HboneError && err.status !== undefined ? ` (HTTP ${err.status})` : '';
      this.#core.log(`outbound ${action.what} failed${status}: ${errorText(err)}`);
      reset(socket);
    }
  }

  async #splice(a: net.Socket, b: Duplex, counters: ConnectionCounters): Promise<void> {
    this.#splicing++;
    try {
      const r = await splice(a, b);
      counters.end({ toTarget: r.aToB, fromTarget: r.bToA });
    } finally {
      this.#splicing--;
    }
  }

  #track(delivery: Delivery, upstream: Duplex): LiveInbound {
    return this.#core.track(delivery, (reason) => {
      if (upstream.destroyed) return false;
      resetDuplex(upstream, new Error(`policy-late-rejection: ${reason}`));
      return true;
    });
  }

  /** Connects to the pod from inside its own netns, from the caller's IP where the delivery says so. */
  async #deliver(d: Delivery): Promise<net.Socket> {
    const upstream = await this.#sockets.connect({
      netnsPath: d.pod.netns,
      host: d.target.ip,
      port: d.target.port,
      mark: PROXY_MARK,
      ...(d.transparentSource !== undefined ? { transparentSource: d.transparentSource } : {}),
    });
    upstream.setNoDelay(true);
    return upstream;
  }

  async #onHbone(conn: Connection): Promise<ConnectDecision> {
    const action = this.#core.hbone({
      authority: conn.authority,
      peerIdentity: conn.peerIdentity,
      peerAddress: conn.peerAddress,
      ...(conn.headers.baggage !== undefined ? { baggage: conn.headers.baggage } : {}),
    });
    if (action.kind === 'reject') return { status: action.status, reason: action.reason };
    let upstream: net.Socket;
    try {
      upstream = await this.#deliver(action.delivery);
    } catch (err) {
      return { status: 503, reason: errorText(err) };
    }
    const live = this.#track(action.delivery, upstream);
    this.#inbound.set(conn, { counters: this.#core.metrics.open(action.telemetry), live });
    return { status: 200, upstream };
  }

  async #onPlaintext(pod: HandedPod, socket: net.Socket): Promise<void> {
    socket.on('error', () => undefined);
    // TPROXY keeps the original destination as the socket's local address.
    const destination = { ip: socket.localAddress ?? '', port: socket.localPort ?? 0 };
    const action = this.#core.plaintext(pod, socket.remoteAddress ?? '', destination);
    if (action.kind === 'reject') return reset(socket);
    try {
      const upstream = await this.#deliver(action.delivery);
      const live = this.#track(action.delivery, upstream);
      await this.#splice(socket, upstream, this.#core.metrics.open(action.telemetry));
      this.#core.untrack(live);
    } catch (err) {
      this.#core.log(`inbound ${action.delivery.what} failed: ${errorText(err)}`);
      reset(socket);
    }
  }
}
