// The ztunnel's proxying: for every pod the node agent hands over, three listeners inside the pod's network
// namespace (15001 outbound, 15006 inbound plaintext, 15008 inbound HBONE), each connection decided here by the pure
// plans (plan/) and carried by a transport (core.ts): the Rust addon (native-transport.ts) or @ambit/hbone
// (typescript-transport.ts), chosen by `transport` / ZTUNNEL_TRANSPORT. Decide, then act (STYLE §9): the transports
// choose no destination and no verdict themselves.
//
// Invariants:
//  1. Every accepted connection is either carried or reset (the app sees ECONNRESET, curl exit 56), never left
//     hanging; a deny is logged with what decided it.
//  2. Inbound deliveries stay registered while open; each new config re-runs their authorization and closes those
//     no longer allowed (DESIGN §8 "policy changes close connections").
//  3. The last good config stays in force: `update` only ever swaps in a state that was accepted whole.
//  4. Authorization sees the HBONE peer's certificate only. A caller a waypoint forwards in `baggage` is read after
//     the verdict, from waypoint peers only, for metric labels (docs/identity-behind-waypoint.md).
import { randomInt } from 'node:crypto';
import { EMPTY_STATE, type ProxyState, type Workload } from '@ambit/config';
import { DEFAULT_TRANSPORT, type TransportKind } from '../config/settings.ts';
import type { CertManager, WorkloadCertificate } from '../identity/cert-manager.ts';
import { decideInbound, describeDecision, forwardedSource, type InboundFacts } from '../plan/inbound.ts';
import { planOutbound, type Address } from '../plan/outbound.ts';
import { buildIndex, spiffeIdOf, type ZtunnelIndex } from '../state/index-state.ts';
import type { ZtunnelMetrics } from '../telemetry/metrics.ts';
import {
  address,
  DEFAULT_PORTS,
  errorText,
  parseHostPort,
  type Delivery,
  type HandedPod,
  type HboneFacts,
  type InboundAction,
  type LiveInbound,
  type OutboundAction,
  type PodListeners,
  type ProxyCore,
  type Transport,
  type ZtunnelPorts,
} from './core.ts';
import { NativeTransport, type NativePodNetwork } from './native-transport.ts';
import type { Sockets } from './sockets.ts';
import { TypeScriptTransport } from './typescript-transport.ts';

export { DEFAULT_PORTS, type HandedPod, type ZtunnelPorts } from './core.ts';

export interface ZtunnelOptions {
  readonly node: string;
  /** How the TypeScript transport makes sockets (pods' netns through the addon, or loopback in tests). */
  readonly sockets: Sockets;
  readonly certs: CertManager;
  readonly metrics: ZtunnelMetrics;
  /** @default DEFAULT_PORTS */
  readonly ports?: ZtunnelPorts;
  /** Deliver inbound connections from the caller's IP (IP_TRANSPARENT). @default true */
  readonly preserveSourceIp?: boolean;
  /** Which transport carries the bytes. @default DEFAULT_TRANSPORT (config/settings.ts) */
  readonly transport?: TransportKind;
  /** Where the native transport makes sockets. @default podNetns (inside each pod's netns) */
  readonly nativeNetwork?: NativePodNetwork;
  log(line: string): void;
}

interface PodProxy {
  readonly pod: HandedPod;
  readonly listeners: PodListeners;
}

const REFUSE: OutboundAction = { kind: 'refuse' };

export class Ztunnel {
  readonly #o: ZtunnelOptions;
  readonly #ports: ZtunnelPorts;
  #index: ZtunnelIndex = buildIndex(EMPTY_STATE);
  readonly #pods = new Map<string, PodProxy>();
  readonly #live = new Set<LiveInbound>();
  readonly #transport: Transport;
  readonly transport: TransportKind;

  constructor(o: ZtunnelOptions) {
    this.#o = o;
    this.#ports = o.ports ?? DEFAULT_PORTS;
    const core: ProxyCore = {
      ports: this.#ports,
      certs: o.certs,
      metrics: o.metrics,
      log: (line) => o.log(line),
      workloadOf: (pod) => this.#workloadOf(pod),
      certificateOf: (pod) => this.#certificateOf(pod),
      outbound: (pod, sourceIp, destination) => this.#outbound(pod, sourceIp, destination),
      hbone: (facts) => this.#hbone(facts),
      plaintext: (pod, sourceIp, destination) => this.#plaintext(pod, sourceIp, destination),
      track: (delivery, close) => this.#track(delivery, close),
      untrack: (live) => this.#live.delete(live),
    };
    this.transport = o.transport ?? DEFAULT_TRANSPORT;
    this.#transport =
      this.transport === 'native'
        ? new NativeTransport(core, o.nativeNetwork)
        : new TypeScriptTransport(core, o.sockets);
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
          this.#o.log(`certificate for ${pod.namespace}/${pod.name}: ${errorText(err)}`);
        });
      }
    }
    this.#transport.refresh();
    for (const live of [...this.#live]) {
      const verdict = decideInbound(this.#index, this.#o.node, live.facts);
      if (verdict.kind === 'allow') continue;
      const why = verdict.kind === 'deny' ? describeDecision(verdict.decision) : 'destination left the mesh';
      this.#live.delete(live);
      // The native transport reports ends in batches: one may have ended a moment ago, unreported.
      if (live.close(why)) this.#o.log(`policy-late-rejection ${live.what}: ${why}`);
    }
  }

  pods(): HandedPod[] {
    return [...this.#pods.values()].map((p) => p.pod);
  }

  /** Connections the transport carries right now. */
  connections(): number {
    return this.#transport.open();
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

  #certificateOf(pod: HandedPod): WorkloadCertificate | undefined {
    const w = this.#workloadOf(pod);
    return w ? this.#o.certs.peek(spiffeIdOf(w)) : undefined;
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
    if (w) {
      await this.#o.certs.get(spiffeIdOf(w)).catch((err: unknown) => {
        // Not fatal: the pod is served, and its certificate is fetched again on the next config push.
        this.#o.log(`certificate for ${pod.namespace}/${pod.name}: ${errorText(err)}`);
      });
    }
    const listeners = this.#transport.serve(pod);
    this.#pods.set(pod.uid, { pod, listeners });
    this.#o.log(`serving pod ${pod.namespace}/${pod.name} (${pod.ips.join(',')}) in ${pod.netns}`);
  }

  /** Stops taking new connections for a pod; connections in flight finish on their own. */
  removePod(uid: string): void {
    const p = this.#pods.get(uid);
    if (!p) return;
    this.#pods.delete(uid);
    p.listeners.stop();
    this.#o.log(`stopped serving pod ${p.pod.namespace}/${p.pod.name}`);
  }

  /**
   * Stops every listener (the native one sends GOAWAY on its HBONE connections), lets connections in flight finish
   * for up to `graceMs`, then resets the rest (SIGTERM, DRAIN_SECONDS).
   */
  async drain(graceMs: number): Promise<void> {
    for (const uid of [...this.#pods.keys()]) this.removePod(uid);
    const deadline = Date.now() + graceMs;
    while (this.#transport.open() > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    for (const live of this.#live) live.close('ztunnel shutting down');
    this.#live.clear();
    await this.#transport.close();
  }

  #track(delivery: Delivery, close: (reason: string) => boolean): LiveInbound {
    const live: LiveInbound = { facts: delivery.facts, what: delivery.what, close };
    this.#live.add(live);
    return live;
  }

  /** Into `pod`, from the caller's IP where the kernel allows it (not from the pod itself). */
  #delivery(pod: HandedPod, target: Address, sourceIp: string, facts: InboundFacts, what: string): Delivery {
    const preserve = (this.#o.preserveSourceIp ?? true) && sourceIp !== '' && !pod.ips.includes(sourceIp);
    return { pod, target, facts, what, ...(preserve ? { transparentSource: sourceIp } : {}) };
  }

  #outbound(pod: HandedPod, sourceIp: string, dst: Address): OutboundAction {
    const source = this.#workloadOf(pod);
    if (!source) {
      this.#o.log(`outbound from ${pod.namespace}/${pod.name} to ${address(dst)}: pod not in the config yet`);
      return REFUSE;
    }
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
    switch (plan.kind) {
      case 'refuse':
        this.#o.log(`outbound ${what} refused: ${plan.reason}`);
        return REFUSE;
      case 'passthrough':
        return {
          kind: 'passthrough',
          what,
          target: plan.target,
          telemetry: { reporter: 'source', source, mutualTls: false },
        };
      case 'local': {
        const facts: InboundFacts = {
          sourceIp,
          destinationIp: plan.target.ip,
          destinationPort: plan.target.port,
          peerIdentity: spiffeIdOf(source),
        };
        const dstPod = this.#pods.get(plan.destination.uid)?.pod;
        const verdict = decideInbound(this.#index, this.#o.node, facts);
        if (verdict.kind !== 'allow' || !dstPod) {
          const why =
            verdict.kind === 'deny' ? describeDecision(verdict.decision) : 'destination pod not served here';
          this.#o.log(`inbound ${what} (same node): ${why}`);
          return REFUSE;
        }
        return {
          kind: 'local',
          what,
          delivery: this.#delivery(dstPod, plan.target, sourceIp, facts, what),
          telemetry: {
            reporter: 'destination',
            source,
            destination: plan.destination,
            ...(plan.service ? { destinationService: plan.service.hostname } : {}),
            mutualTls: false,
          },
        };
      }
      case 'hbone':
        return {
          kind: 'hbone',
          what,
          sourceIdentity: spiffeIdOf(source),
          proxy: plan.proxy,
          authority: plan.authority,
          identities: plan.identities,
          telemetry: {
            reporter: 'source',
            source,
            ...(plan.destination ? { destination: plan.destination } : {}),
            ...(plan.service ? { destinationService: plan.service.hostname } : {}),
            mutualTls: true,
          },
        };
    }
  }

  #hbone(conn: HboneFacts): InboundAction {
    const dst = parseHostPort(conn.authority);
    const peerIp = parseHostPort(conn.peerAddress)?.ip ?? conn.peerAddress;
    const pod = dst ? this.#podByIp(dst.ip) : undefined;
    if (!dst || !pod)
      return { kind: 'reject', status: 503, reason: `${conn.authority} is not a pod served here` };
    const facts: InboundFacts = {
      sourceIp: peerIp,
      destinationIp: dst.ip,
      destinationPort: dst.port,
      peerIdentity: conn.peerIdentity,
    };
    const verdict = decideInbound(this.#index, this.#o.node, facts);
    const what = `${conn.peerIdentity} (${peerIp}) → ${conn.authority}`;
    if (verdict.kind === 'unknown-destination')
      return { kind: 'reject', status: 503, reason: 'unknown destination' };
    if (verdict.kind === 'deny') {
      const why = describeDecision(verdict.decision);
      this.#o.log(`inbound ${what}: ${why}`);
      return { kind: 'reject', status: 401, reason: why };
    }
    const source = this.#index.workloadByIp(peerIp);
    const forwarded = forwardedSource(this.#index, {
      peerIdentity: conn.peerIdentity,
      trustDomain: verdict.workload.trustDomain,
      ...(conn.baggage !== undefined ? { baggage: conn.baggage } : {}),
    });
    return {
      kind: 'deliver',
      delivery: this.#delivery(pod, dst, peerIp, facts, what),
      telemetry: {
        reporter: 'destination',
        ...(source ? { source } : {}),
        ...(forwarded ? { forwardedSource: forwarded } : {}),
        destination: verdict.workload,
        mutualTls: true,
      },
    };
  }

  #plaintext(pod: HandedPod, sourceIp: string, dst: Address): InboundAction {
    const facts: InboundFacts = { sourceIp, destinationIp: dst.ip, destinationPort: dst.port };
    const verdict = decideInbound(this.#index, this.#o.node, facts);
    const what = `plaintext ${sourceIp} → ${address(dst)}`;
    if (verdict.kind !== 'allow') {
      const why =
        verdict.kind === 'deny' ? describeDecision(verdict.decision) : 'denied: unknown destination';
      this.#o.log(`inbound ${what}: ${why}`);
      return { kind: 'reject', status: verdict.kind === 'deny' ? 401 : 503, reason: why };
    }
    return {
      kind: 'deliver',
      delivery: this.#delivery(pod, dst, sourceIp, facts, what),
      telemetry: { reporter: 'destination', destination: verdict.workload, mutualTls: false },
    };
  }
}
