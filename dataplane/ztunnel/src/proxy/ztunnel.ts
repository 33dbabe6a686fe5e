// The ztunnel's proxying: for every pod the node agent hands over, three listeners inside the pod's network
// namespace (15001 outbound, 15006 inbound plaintext, 15008 inbound HBONE), each connection decided by the pure
// plans (plan/) and carried by @ambit/hbone. Decide, then act (STYLE §9): nothing here chooses a destination or a
// verdict itself.
//
// Invariants:
//  1. Every accepted connection is either spliced to an upstream or reset (the app sees ECONNRESET, curl exit 56),
//     never left hanging; a deny is logged with what decided it.
//  2. Inbound connections stay registered while open; each new config re-runs their authorization and closes those
//     no longer allowed (DESIGN §8 "policy changes close connections").
//  3. The last good config stays in force: `update` only ever swaps in a state that was accepted whole.
//  4. Authorization sees the HBONE peer's certificate only. A caller a waypoint forwards in `baggage` is read after
//     the verdict, from waypoint peers only, for metric labels (docs/identity-behind-waypoint.md).
import { randomInt } from 'node:crypto';
import type net from 'node:net';
import type { Duplex } from 'node:stream';
import { EMPTY_STATE, type ProxyState, type Workload } from '@ambit/config';
import {
  HboneClient,
  HboneError,
  HboneServer,
  resetDuplex,
  secureContextOptions,
  splice,
  type ConnectDecision,
  type Connection,
  type Served,
} from '@ambit/hbone';
import type { CertManager } from '../identity/cert-manager.ts';
import { decideInbound, describeDecision, forwardedSource, type InboundFacts } from '../plan/inbound.ts';
import { planOutbound, type Address } from '../plan/outbound.ts';
import { buildIndex, spiffeIdOf, type ZtunnelIndex } from '../state/index-state.ts';
import type { ConnectionCounters, ZtunnelMetrics } from '../telemetry/metrics.ts';
import { PROXY_MARK, type Sockets } from './sockets.ts';
import { tlsMaterial } from './tls-material.ts';

/** A pod the node agent handed over. */
export interface HandedPod {
  readonly uid: string;
  readonly namespace: string;
  readonly name: string;
  /** Its network namespace file. */
  readonly netns: string;
  readonly ips: readonly string[];
}

export interface ZtunnelPorts {
  readonly outbound: number;
  readonly inboundPlain: number;
  readonly hbone: number;
}

export const DEFAULT_PORTS: ZtunnelPorts = { outbound: 15001, inboundPlain: 15006, hbone: 15008 };

export interface ZtunnelOptions {
  readonly node: string;
  readonly sockets: Sockets;
  readonly certs: CertManager;
  readonly metrics: ZtunnelMetrics;
  /** @default DEFAULT_PORTS */
  readonly ports?: ZtunnelPorts;
  /** Deliver inbound connections from the caller's IP (IP_TRANSPARENT). @default true */
  readonly preserveSourceIp?: boolean;
  log(line: string): void;
}

interface PodProxy {
  readonly pod: HandedPod;
  readonly servers: net.Server[];
  readonly served: Served;
}

/** An open inbound connection, re-authorized on every config change. */
interface LiveInbound {
  readonly facts: InboundFacts;
  readonly describe: string;
  close(reason: string): void;
}

function address(a: Address): string {
  return `${a.ip}:${a.port}`;
}

function parseHostPort(s: string): Address | undefined {
  const m = /^(\d+\.\d+\.\d+\.\d+):(\d+)$/.exec(s);
  return m?.[1] && m[2] ? { ip: m[1], port: Number(m[2]) } : undefined;
}

function reset(socket: net.Socket): void {
  if (!socket.destroyed) socket.resetAndDestroy();
}

export class Ztunnel {
  readonly #o: ZtunnelOptions;
  readonly #ports: ZtunnelPorts;
  #index: ZtunnelIndex = buildIndex(EMPTY_STATE);
  readonly #pods = new Map<string, PodProxy>();
  readonly #live = new Set<LiveInbound>();
  readonly #counters = new WeakMap<Connection, { counters: ConnectionCounters; live: LiveInbound }>();
  readonly #client: HboneClient;
  readonly #server: HboneServer;

  constructor(o: ZtunnelOptions) {
    this.#o = o;
    this.#ports = o.ports ?? DEFAULT_PORTS;
    this.#client = new HboneClient({
      // HBONE leaves from the source pod's netns, marked so its own redirect lets it out.
      socketFactory: async ({ host, port, sourceIp }) => {
        const pod = sourceIp ? this.#podByIp(sourceIp) : undefined;
        if (!pod) throw new Error(`no pod with IP ${sourceIp ?? '?'} on this node to dial from`);
        const s = await this.#o.sockets.connect({ netnsPath: pod.netns, host, port, mark: PROXY_MARK });
        s.setNoDelay(true);
        return s;
      },
    });
    this.#server = new HboneServer({
      onConnect: (conn) => this.#onHbone(conn),
      onClose: (conn, result) => {
        const entry = this.#counters.get(conn);
        if (!entry) return;
        entry.counters.received(result.aToB);
        entry.counters.sent(result.bToA);
        entry.counters.close();
        this.#live.delete(entry.live);
      },
      onError: (err, peer) => this.#o.log(`hbone inbound from ${peer ?? '?'}: ${err.message}`),
    });
  }

  get state(): ProxyState {
    return this.#index.state;
  }

  /** Swaps in a new accepted config and closes inbound connections it no longer allows. */
  update(state: ProxyState): void {
    this.#index = buildIndex(state);
    // A pod handed over before the config named it gets its certificate now, before its first inbound connection.
    for (const { pod } of this.#pods.values()) {
      const w = this.#workloadOf(pod);
      if (w && !this.#o.certs.peek(spiffeIdOf(w))) {
        this.#o.certs.get(spiffeIdOf(w)).catch((err: unknown) => {
          this.#o.log(
            `certificate for ${pod.namespace}/${pod.name}: ${err instanceof Error ? err.message : String(err)}`,
          );
        });
      }
    }
    for (const live of [...this.#live]) {
      const verdict = decideInbound(this.#index, this.#o.node, live.facts);
      if (verdict.kind === 'allow') continue;
      const why = verdict.kind === 'deny' ? describeDecision(verdict.decision) : 'destination left the mesh';
      this.#o.log(`policy-late-rejection ${live.describe}: ${why}`);
      live.close(why);
      this.#live.delete(live);
    }
  }

  pods(): HandedPod[] {
    return [...this.#pods.values()].map((p) => p.pod);
  }

  hasPod(uid: string): boolean {
    return this.#pods.has(uid);
  }

  #podByIp(ip: string): HandedPod | undefined {
    for (const p of this.#pods.values()) if (p.pod.ips.includes(ip)) return p.pod;
    return undefined;
  }

  #workloadOf(pod: HandedPod): Workload | undefined {
    return (
      this.#index.workloadByUid(pod.uid) ?? pod.ips.map((ip) => this.#index.workloadByIp(ip)).find(Boolean)
    );
  }

  /**
   * Starts serving a pod: its certificate first (the HBONE listener presents it), then the three listeners in
   * its netns. Serving it again with the same netns is a no-op (the agent re-sends pods after reconnecting).
   */
  async addPod(pod: HandedPod): Promise<void> {
    const current = this.#pods.get(pod.uid);
    if (current && current.pod.netns === pod.netns) return;
    if (current) this.removePod(pod.uid);
    const w = this.#workloadOf(pod);
    const identity = w ? spiffeIdOf(w) : undefined;
    if (identity) {
      await this.#o.certs.get(identity).catch((err: unknown) => {
        // Not fatal: the pod is served, and its certificate is fetched again on the next config push.
        this.#o.log(
          `certificate for ${pod.namespace}/${pod.name}: ${err instanceof Error ? err.message : String(err)}`,
        );
      });
    }
    const listen = (port: number, transparent: boolean): net.Server =>
      this.#o.sockets.listen({ netnsPath: pod.netns, host: '0.0.0.0', port, transparent });
    const outbound = listen(this.#ports.outbound, false);
    const plain = listen(this.#ports.inboundPlain, true);
    const hbone = listen(this.#ports.hbone, true);
    outbound.on('connection', (s: net.Socket) => void this.#onOutbound(pod, s));
    plain.on('connection', (s: net.Socket) => void this.#onPlaintext(pod, s));
    const served = this.#server.serve(hbone, () => {
      const wl = this.#workloadOf(pod);
      const cert = wl ? this.#o.certs.peek(spiffeIdOf(wl)) : undefined;
      if (!cert) throw new Error(`no certificate yet for pod ${pod.namespace}/${pod.name}`);
      return secureContextOptions(tlsMaterial(cert));
    });
    this.#pods.set(pod.uid, { pod, servers: [outbound, plain, hbone], served });
    this.#o.log(`serving pod ${pod.namespace}/${pod.name} (${pod.ips.join(',')}) in ${pod.netns}`);
  }

  /** Stops taking new connections for a pod; connections in flight finish on their own. */
  removePod(uid: string): void {
    const p = this.#pods.get(uid);
    if (!p) return;
    this.#pods.delete(uid);
    p.served.close();
    for (const s of p.servers) s.close();
    this.#o.log(`stopped serving pod ${p.pod.namespace}/${p.pod.name}`);
  }

  /** Stops every listener, lets connections in flight finish for up to `graceMs`, then resets the rest. */
  async drain(graceMs: number): Promise<void> {
    for (const uid of [...this.#pods.keys()]) this.removePod(uid);
    const deadline = Date.now() + graceMs;
    while (this.#live.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    for (const live of this.#live) live.close('ztunnel shutting down');
    await this.#client.close();
    await this.#server.close();
  }

  async #onOutbound(pod: HandedPod, socket: net.Socket): Promise<void> {
    socket.on('error', () => undefined);
    let dst: Address;
    try {
      const d = this.#o.sockets.originalDestination(socket);
      dst = { ip: d.host, port: d.port };
    } catch (err) {
      this.#o.log(`outbound from ${pod.namespace}/${pod.name}: no original destination: ${String(err)}`);
      return reset(socket);
    }
    const source = this.#workloadOf(pod);
    if (!source) {
      this.#o.log(`outbound from ${pod.namespace}/${pod.name} to ${address(dst)}: pod not in the config yet`);
      return reset(socket);
    }
    const srcIp = socket.remoteAddress ?? pod.ips[0] ?? '';
    const plan = planOutbound(
      {
        index: this.#index,
        node: this.#o.node,
        pick: (n) => (n > 0 ? randomInt(n) : 0),
        hbonePort: this.#ports.hbone,
      },
      source,
      dst,
    );
    const what = `${source.namespace}/${source.name} → ${address(dst)}`;
    try {
      switch (plan.kind) {
        case 'refuse':
          this.#o.log(`outbound ${what} refused: ${plan.reason}`);
          return reset(socket);
        case 'passthrough': {
          const upstream = await this.#o.sockets.connect({
            netnsPath: pod.netns,
            host: plan.target.ip,
            port: plan.target.port,
            mark: PROXY_MARK,
          });
          return await this.#spliceCounted(
            socket,
            upstream,
            this.#o.metrics.open({ reporter: 'source', source, mutualTls: false }),
          );
        }
        case 'local': {
          const facts: InboundFacts = {
            sourceIp: srcIp,
            destinationIp: plan.target.ip,
            destinationPort: plan.target.port,
            peerIdentity: spiffeIdOf(source),
          };
          const dstPod = this.#pods.get(plan.destination.uid)?.pod;
          const verdict = decideInbound(this.#index, this.#o.node, facts);
          if (verdict.kind !== 'allow' || !dstPod) {
            const why =
              verdict.kind === 'deny'
                ? describeDecision(verdict.decision)
                : 'destination pod not served here';
            this.#o.log(`inbound ${what} (same node): ${why}`);
            return reset(socket);
          }
          const upstream = await this.#deliver(dstPod, plan.target, srcIp);
          const counters = this.#o.metrics.open({
            reporter: 'destination',
            source,
            destination: plan.destination,
            ...(plan.service ? { destinationService: plan.service.hostname } : {}),
            mutualTls: false,
          });
          const live = this.#track(facts, what, upstream);
          await this.#spliceCounted(socket, upstream, counters);
          this.#live.delete(live);
          return;
        }
        case 'hbone': {
          const cert = tlsMaterial(await this.#o.certs.get(spiffeIdOf(source)));
          const stream = await this.#client.connect({
            source: { ...cert, identity: spiffeIdOf(source), ip: srcIp },
            destination: {
              address: address(plan.authority),
              proxy: address(plan.proxy),
              identities: plan.identities,
            },
            headers: { forwardedFor: srcIp },
          });
          return await this.#spliceCounted(
            socket,
            stream,
            this.#o.metrics.open({
              reporter: 'source',
              source,
              ...(plan.destination ? { destination: plan.destination } : {}),
              ...(plan.service ? { destinationService: plan.service.hostname } : {}),
              mutualTls: true,
            }),
          );
        }
      }
    } catch (err) {
      const status = err instanceof HboneError && err.status !== undefined ? ` (HTTP ${err.status})` : '';
      this.#o.log(`outbound ${what} failed${status}: ${err instanceof Error ? err.message : String(err)}`);
      reset(socket);
    }
  }

  async #spliceCounted(a: net.Socket, b: Duplex, counters: ConnectionCounters): Promise<void> {
    const r = await splice(a, b);
    counters.sent(r.aToB);
    counters.received(r.bToA);
    counters.close();
  }

  #track(facts: InboundFacts, describe: string, upstream: Duplex): LiveInbound {
    const live: LiveInbound = {
      facts,
      describe,
      close: (reason) => resetDuplex(upstream, new Error(`policy-late-rejection: ${reason}`)),
    };
    this.#live.add(live);
    return live;
  }

  /** Connects to the pod from inside its own netns, from the caller's IP where the kernel allows. */
  async #deliver(pod: HandedPod, target: Address, sourceIp: string): Promise<net.Socket> {
    const preserve = (this.#o.preserveSourceIp ?? true) && sourceIp !== '' && !pod.ips.includes(sourceIp);
    const upstream = await this.#o.sockets.connect({
      netnsPath: pod.netns,
      host: target.ip,
      port: target.port,
      mark: PROXY_MARK,
      ...(preserve ? { transparentSource: sourceIp } : {}),
    });
    upstream.setNoDelay(true);
    return upstream;
  }

  async #onHbone(conn: Connection): Promise<ConnectDecision> {
    const dst = parseHostPort(conn.authority);
    const peerIp = parseHostPort(conn.peerAddress)?.ip ?? conn.peerAddress;
    const pod = dst ? this.#podByIp(dst.ip) : undefined;
    if (!dst || !pod) return { status: 503, reason: `${conn.authority} is not a pod served here` };
    const facts: InboundFacts = {
      sourceIp: peerIp,
      destinationIp: dst.ip,
      destinationPort: dst.port,
      peerIdentity: conn.peerIdentity,
    };
    const verdict = decideInbound(this.#index, this.#o.node, facts);
    const what = `${conn.peerIdentity} (${peerIp}) → ${conn.authority}`;
    if (verdict.kind === 'unknown-destination') return { status: 503, reason: 'unknown destination' };
    if (verdict.kind === 'deny') {
      const why = describeDecision(verdict.decision);
      this.#o.log(`inbound ${what}: ${why}`);
      return { status: 401, reason: why };
    }
    let upstream: net.Socket;
    try {
      upstream = await this.#deliver(pod, dst, peerIp);
    } catch (err) {
      return { status: 503, reason: err instanceof Error ? err.message : String(err) };
    }
    const live = this.#track(facts, what, upstream);
    const source = this.#index.workloadByIp(peerIp);
    const forwarded = forwardedSource(this.#index, {
      peerIdentity: conn.peerIdentity,
      trustDomain: verdict.workload.trustDomain,
      ...(conn.headers.baggage !== undefined ? { baggage: conn.headers.baggage } : {}),
    });
    const counters = this.#o.metrics.open({
      reporter: 'destination',
      ...(source ? { source } : {}),
      ...(forwarded ? { forwardedSource: forwarded } : {}),
      destination: verdict.workload,
      mutualTls: true,
    });
    this.#counters.set(conn, { counters, live });
    return { status: 200, upstream };
  }

  async #onPlaintext(pod: HandedPod, socket: net.Socket): Promise<void> {
    socket.on('error', () => undefined);
    // TPROXY keeps the original destination as the socket's local address.
    const dst = { ip: socket.localAddress ?? '', port: socket.localPort ?? 0 };
    const srcIp = socket.remoteAddress ?? '';
    const facts: InboundFacts = { sourceIp: srcIp, destinationIp: dst.ip, destinationPort: dst.port };
    const verdict = decideInbound(this.#index, this.#o.node, facts);
    const what = `plaintext ${srcIp} → ${address(dst)}`;
    if (verdict.kind !== 'allow') {
      const why =
        verdict.kind === 'deny' ? describeDecision(verdict.decision) : 'denied: unknown destination';
      this.#o.log(`inbound ${what}: ${why}`);
      return reset(socket);
    }
    try {
      const upstream = await this.#deliver(pod, dst, srcIp);
      const live = this.#track(facts, what, upstream);
      await this.#spliceCounted(
        socket,
        upstream,
        this.#o.metrics.open({ reporter: 'destination', destination: verdict.workload, mutualTls: false }),
      );
      this.#live.delete(live);
    } catch (err) {
      this.#o.log(`inbound ${what} failed: ${err instanceof Error ? err.message : String(err)}`);
      reset(socket);
    }
  }
}
