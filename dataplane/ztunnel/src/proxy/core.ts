// The seam between the ztunnel's decisions and the transport that carries its bytes (DESIGN §2 "decide in
// TypeScript, move bytes natively"). The `Ztunnel` decides (plan/, policy, telemetry labels, decision logs) and hands
// each transport plain actions; a transport (typescript-transport.ts: @ambit/hbone in this process;
// native-transport.ts: the Rust addon) opens the pods' listeners, asks for an action per connection and carries it.
// Both transports get the same actions, so they differ only in how bytes move.
import type { Workload } from '@ambit/config';
import type { CertManager, WorkloadCertificate } from '../identity/cert-manager.ts';
import type { InboundFacts } from '../plan/inbound.ts';
import type { Address } from '../plan/outbound.ts';
import type { ConnectionTelemetry, ZtunnelMetrics } from '../telemetry/metrics.ts';

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

/** Where an allowed inbound connection goes: into the destination pod's netns, to the pod port. */
export interface Delivery {
  readonly pod: HandedPod;
  readonly target: Address;
  /** Connect from this address (the caller's, IP_TRANSPARENT), so the workload sees who called. */
  readonly transparentSource?: string;
  /** What authorized it; re-authorized on every config change while it is open. */
  readonly facts: InboundFacts;
  /** For logs. */
  readonly what: string;
}

/** What to do with a connection an app opened (15001). A refusal has been logged already. */
export type OutboundAction =
  | { readonly kind: 'refuse' }
  /** Plain TCP to the original destination, from the source pod. */
  | {
      readonly kind: 'passthrough';
      readonly what: string;
      readonly target: Address;
      readonly telemetry: ConnectionTelemetry;
    }
  /** Same node, inbound policy passed: straight into the destination pod, no encryption. */
  | {
      readonly kind: 'local';
      readonly what: string;
      readonly delivery: Delivery;
      readonly telemetry: ConnectionTelemetry;
    }
  /** HBONE from the source pod, presenting `sourceIdentity`'s certificate. */
  | {
      readonly kind: 'hbone';
      readonly what: string;
      readonly sourceIdentity: string;
      readonly proxy: Address;
      readonly authority: Address;
      readonly identities: readonly string[];
      readonly telemetry: ConnectionTelemetry;
    };

/** What to do with a connection arriving for a pod (15008 HBONE, 15006 plaintext). A denial has been logged. */
export type InboundAction =
  | { readonly kind: 'reject'; readonly status: 401 | 503; readonly reason: string }
  | { readonly kind: 'deliver'; readonly delivery: Delivery; readonly telemetry: ConnectionTelemetry };

/** One inbound CONNECT, as the HBONE listener saw it. */
export interface HboneFacts {
  readonly authority: string;
  /** The verified client certificate's SPIFFE id. */
  readonly peerIdentity: string;
  /** `ip:port` of the HBONE connection's peer. */
  readonly peerAddress: string;
  /** The CONNECT's `baggage` header, as received (a waypoint's forwarded caller, for telemetry only). */
  readonly baggage?: string;
}

/** An open inbound connection, re-authorized on every config change. */
export interface LiveInbound {
  readonly facts: InboundFacts;
  readonly what: string;
  /** Resets it; false when it had ended already (its end not yet reported). */
  close(reason: string): boolean;
}

/** What a transport may ask of the ztunnel. */
export interface ProxyCore {
  readonly ports: ZtunnelPorts;
  readonly certs: CertManager;
  readonly metrics: ZtunnelMetrics;
  log(line: string): void;
  workloadOf(pod: HandedPod): Workload | undefined;
  /** The certificate a pod's HBONE listener presents now, if one is held. */
  certificateOf(pod: HandedPod): WorkloadCertificate | undefined;
  outbound(pod: HandedPod, sourceIp: string, destination: Address): OutboundAction;
  hbone(facts: HboneFacts): InboundAction;
  plaintext(pod: HandedPod, sourceIp: string, destination: Address): InboundAction;
  /** Registers an open delivery for re-authorization; `close` resets it when a new config no longer allows it. */
  track(delivery: Delivery, close: (reason: string) => boolean): LiveInbound;
  untrack(live: LiveInbound): void;
}

/** A pod's listeners, as a transport opened them. */
export interface PodListeners {
  /** Stops accepting; connections in flight finish on their own. */
  stop(): void;
}

/** Carries bytes for the ztunnel. */
export interface Transport {
  /** Opens the pod's three listeners inside its netns. */
  serve(pod: HandedPod): PodListeners;
  /** A new config was accepted: a pod's identity (and so the certificate its listener presents) may have changed. */
  refresh(): void;
  /** Connections carried right now (a drain waits for them). */
  open(): number;
  /** Resets everything still open and lets go of every resource. */
  close(): Promise<void>;
}

export function address(a: Address): string {
  return `${a.ip}:${a.port}`;
}

/** `a.b.c.d:port` → its parts; anything else (IPv6, names) is undefined. */
export function parseHostPort(s: string): Address | undefined {
  const m = /^(\d+\.\d+\.\d+\.\d+):(\d+)$/.exec(s);
  return m?.[1] && m[2] ? { ip: m[1], port: Number(m[2]) } : undefined;
}

export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
