// The native transport (ZTUNNEL_TRANSPORT=native, issue 12): per pod, native listeners inside its netns (15001
// outbound, 15006 plaintext, 15008 HBONE), the bytes carried by the Rust addon; JavaScript sees one decision per
// connection and batched close reports. It carries the actions the ztunnel decides (core.ts):
//  - outbound: HBONE (pooled by the addon), passthrough, or, same node, a passthrough into the destination pod's
//    netns from the caller's address after inbound policy; 15006 is a listener of the same kind whose only plan is
//    that delivery;
//  - HBONE inbound: a verdict that dials into the pod's netns, marked 0x539, from the caller's address.
//
// Invariants:
//  1. A connection whose action carries bytes is registered (counters, re-authorization) before its decision
//     returns, and released by its one close report (the addon reports only after the decision settled).
//  2. Counters open at the decision, as upstream ztunnel's do; a plan that could not be carried is logged from its
//     report and closes them.
//  3. A pod's HBONE listener presents the certificate its identity has now: none until one is held (handshakes are
//     refused, fail closed), and each renewal from then on (CertManager.watch).
import {
  listenHbone,
  NativeHboneClient,
  type ClosedConnection,
  type InboundConnect,
  type InboundVerdict,
  type ListenerOptions,
  type NativeHboneServer,
  type NativeOutboundListener,
  type OutboundConnect,
  type OutboundPlan,
} from '@ambit/native';
import type { WorkloadCertificate } from '../identity/cert-manager.ts';
import { spiffeIdOf } from '../state/index-state.ts';
import type { Address } from '../plan/outbound.ts';
import type { ConnectionCounters, ConnectionTelemetry } from '../telemetry/metrics.ts';
import {
  address,
  errorText,
  parseHostPort,
  type Delivery,
  type HandedPod,
  type LiveInbound,
  type PodListeners,
  type ProxyCore,
  type Transport,
} from './core.ts';
import { PROXY_MARK } from './sockets.ts';
import { tlsMaterial } from './tls-material.ts';

/** Where the native transport makes a pod's sockets. Tests on loopback replace it (`podNetns` is the real one). */
export interface NativePodNetwork {
  /** A listener of the pod. */
  listen(pod: HandedPod, port: number, transparent: boolean): ListenerOptions;
  /** How the ztunnel's own connections leave from (outbound) or into (delivery) the pod. */
  dial(pod: HandedPod): { readonly netnsPath?: string; readonly mark?: number };
  /** Where an outbound connection was going, from what the listener saw; undefined when unknown. */
  destination(connect: OutboundConnect): Address | undefined;
}

/** Inside the pod's netns, marked so the pod's own redirect lets the ztunnel's traffic pass (DESIGN §7). */
export const podNetns: NativePodNetwork = {
  listen: (pod, port, transparent) => ({ netnsPath: pod.netns, host: '0.0.0.0', port, transparent }),
  dial: (pod) => ({ netnsPath: pod.netns, mark: PROXY_MARK }),
  // The addon read SO_ORIGINAL_DST (the REDIRECT to 15001 keeps it in conntrack).
  destination: (c) => parseHostPort(c.destination),
};

/** A connection the addon carries for an action; released by its close report. */
interface Carried {
  readonly direction: 'outbound' | 'inbound';
  readonly what: string;
  readonly counters: ConnectionCounters;
  readonly live?: LiveInbound;
}

interface PodServer {
  readonly pod: HandedPod;
  readonly server: NativeHboneServer;
  /** What it presents now. */
  cert?: WorkloadCertificate;
}

function hostOf(ipPort: string): string {
  return parseHostPort(ipPort)?.ip ?? ipPort;
}

export class NativeTransport implements Transport {
  readonly #core: ProxyCore;
  readonly #network: NativePodNetwork;
  readonly #client: NativeHboneClient;
  readonly #carried = new Map<number, Carried>();
  /** HBONE listeners of served pods, by pod uid. */
  readonly #servers = new Map<string, PodServer>();
  /** Drained HBONE listeners that may still carry streams (they close themselves after the last). */
  readonly #draining = new Set<NativeHboneServer>();
  /** The certificate the client holds per source identity. */
  readonly #clientCerts = new Map<string, WorkloadCertificate>();
  readonly #unwatch: () => void;

  constructor(core: ProxyCore, network: NativePodNetwork = podNetns) {
    this.#core = core;
    this.#network = network;
    this.#client = new NativeHboneClient({
      onClose: (closed) => this.#closed(closed),
      onReportError: (err) => core.log(`native outbound reports: ${errorText(err)}`),
    });
    this.#unwatch = core.certs.watch((cert) => this.#renewed(cert));
  }

  serve(pod: HandedPod): PodListeners {
    const ports = this.#core.ports;
    const opened: { close(): void }[] = [];
    let server: NativeHboneServer | undefined;
    try {
      const outbound = this.#client.listenOutbound({
        ...this.#network.listen(pod, ports.outbound, false),
        decide: (c) => this.#outbound(pod, c),
        onDecisionError: (err) => this.#core.log(`outbound decision failed: ${errorText(err)}`),
      });
      opened.push(outbound);
      const plain = this.#client.listenOutbound({
        ...this.#network.listen(pod, ports.inboundPlain, true),
        decide: (c) => this.#plaintext(pod, c),
        onDecisionError: (err) => this.#core.log(`plaintext decision failed: ${errorText(err)}`),
      });
      opened.push(plain);
      const cert = this.#core.certificateOf(pod);
      server = listenHbone({
        ...this.#network.listen(pod, ports.hbone, true),
        ...(cert ? { tls: tlsMaterial(cert) } : {}),
        decide: (c) => this.#hbone(c, (id) => server?.closeConnection(id) ?? false),
        onDecisionError: (err) => this.#core.log(`hbone decision failed: ${errorText(err)}`),
        onClose: (closed) => this.#closed(closed),
        onReportError: (err) => this.#core.log(`native inbound reports: ${errorText(err)}`),
      });
      this.#servers.set(pod.uid, { pod, server, ...(cert ? { cert } : {}) });
      return { stop: () => this.#stop(pod, [outbound, plain], server) };
    } catch (err) {
      for (const o of opened) o.close();
      throw err;
    }
  }

  #stop(pod: HandedPod, listeners: NativeOutboundListener[], server: NativeHboneServer | undefined): void {
    if (this.#servers.get(pod.uid)?.server === server) this.#servers.delete(pod.uid);
    for (const l of listeners) l.drain();
    if (!server) return;
    // GOAWAY: peers open new streams elsewhere; open ones finish, then it closes itself.
    server.drain();
    for (const s of this.#draining) if (s.stats().connectionsOpen === 0) this.#draining.delete(s);
    this.#draining.add(server);
  }

  refresh(): void {
    for (const served of this.#servers.values()) {
      const cert = this.#core.certificateOf(served.pod);
      if (cert && cert !== served.cert) this.#present(served, cert);
    }
  }

  open(): number {
    return this.#carried.size;
  }

  close(): Promise<void> {
    this.#unwatch();
    for (const { server } of this.#servers.values()) server.close();
    for (const server of this.#draining) server.close();
    this.#servers.clear();
    this.#draining.clear();
    this.#client.close();
    return Promise.resolve();
  }

  #present(served: PodServer, cert: WorkloadCertificate): void {
    try {
      served.server.setTls(tlsMaterial(cert));
      served.cert = cert;
    } catch (err) {
      this.#core.log(`certificate for ${served.pod.namespace}/${served.pod.name}: ${errorText(err)}`);
    }
  }

  /** A new certificate (first or renewed): the listeners of the pods it names present it from now on. */
  #renewed(cert: WorkloadCertificate): void {
    for (const served of this.#servers.values()) {
      const w = this.#core.workloadOf(served.pod);
      if (w && spiffeIdOf(w) === cert.identity) this.#present(served, cert);
    }
    if (this.#clientCerts.has(cert.identity)) this.#clientCertificate(cert);
  }

  #clientCertificate(cert: WorkloadCertificate): void {
    if (this.#clientCerts.get(cert.identity) === cert) return;
    this.#client.setCertificate(cert.identity, tlsMaterial(cert));
    this.#clientCerts.set(cert.identity, cert);
  }

  #carry(id: number, carried: Carried): void {
    this.#carried.set(id, carried);
  }

  #closed(closed: readonly ClosedConnection[]): void {
    for (const c of closed) {
      const carried = this.#carried.get(c.id);
      if (!carried) continue;
      this.#carried.delete(c.id);
      carried.counters.end(c);
      if (carried.live) this.#core.untrack(carried.live);
      if (c.error !== undefined) this.#core.log(`${carried.direction} ${carried.what} failed: ${c.error}`);
    }
  }

  /** The plan that delivers into a pod: a passthrough in its netns, marked, from the caller's address. */
  #delivery(d: Delivery): { target: string; transparentSource?: string; netnsPath?: string; mark?: number } {
    return {
      target: address(d.target),
      ...this.#network.dial(d.pod),
      ...(d.transparentSource !== undefined ? { transparentSource: d.transparentSource } : {}),
    };
  }

  async #outbound(pod: HandedPod, c: OutboundConnect): Promise<OutboundPlan> {
    const destination = this.#network.destination(c);
    if (!destination) {
      this.#core.log(
        `outbound from ${pod.namespace}/${pod.name}: no original destination (${c.destination})`,
      );
      return { kind: 'refuse' };
    }
    const sourceIp = hostOf(c.sourceAddress);
    const action = this.#core.outbound(pod, sourceIp, destination);
    const metrics = this.#core.metrics;
    switch (action.kind) {
      case 'refuse':
        return { kind: 'refuse' };
      case 'passthrough':
        this.#carry(c.id, {
          direction: 'outbound',
          what: action.what,
          counters: metrics.open(action.telemetry),
        });
        return { kind: 'passthrough', target: address(action.target), ...this.#network.dial(pod) };
      case 'local':
        this.#deliver(c.id, 'outbound', action.delivery, action.telemetry, () =>
          this.#client.closeConnection(c.id),
        );
        return { kind: 'passthrough', ...this.#delivery(action.delivery) };
      case 'hbone': {
        this.#clientCertificate(await this.#core.certs.get(action.sourceIdentity));
        this.#carry(c.id, {
          direction: 'outbound',
          what: action.what,
          counters: metrics.open(action.telemetry),
        });
        return {
          kind: 'hbone',
          proxy: address(action.proxy),
          authority: address(action.authority),
          sourceIdentity: action.sourceIdentity,
          identities: action.identities,
          sourceIp,
          ...this.#network.dial(pod),
        };
      }
    }
  }

  #plaintext(pod: HandedPod, c: OutboundConnect): OutboundPlan {
    // TPROXY keeps the original destination as the connection's local address.
    const destination = parseHostPort(c.localAddress);
    if (!destination) return { kind: 'refuse' };
    const action = this.#core.plaintext(pod, hostOf(c.sourceAddress), destination);
    if (action.kind === 'reject') return { kind: 'refuse' };
    this.#deliver(c.id, 'inbound', action.delivery, action.telemetry, () =>
      this.#client.closeConnection(c.id),
    );
    return { kind: 'passthrough', ...this.#delivery(action.delivery) };
  }

  #hbone(c: InboundConnect, close: (id: number) => boolean): InboundVerdict {
    const action = this.#core.hbone({
      authority: c.authority,
      peerIdentity: c.peerIdentity,
      peerAddress: c.peerAddress,
      ...(c.headers.baggage !== undefined ? { baggage: c.headers.baggage } : {}),
    });
    if (action.kind === 'reject') return { status: action.status, reason: action.reason };
    this.#deliver(c.id, 'inbound', action.delivery, action.telemetry, () => close(c.id));
    return { status: 200, ...this.#delivery(action.delivery) };
  }

  /** Registers a delivery into a pod: counted, and re-authorized while open (`close` resets it). */
  #deliver(
    id: number,
    direction: Carried['direction'],
    d: Delivery,
    telemetry: ConnectionTelemetry,
    close: () => boolean,
  ): void {
    const counters = this.#core.metrics.open(telemetry);
    this.#carry(id, { direction, what: d.what, counters, live: this.#core.track(d, close) });
  }
}
