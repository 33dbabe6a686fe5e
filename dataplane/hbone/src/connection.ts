// What an HBONE server knows about one inbound CONNECT, and what its owner decides (definitions only).
import type { Duplex } from 'node:stream';
import type { ConnectHeaders } from './connect-headers.ts';

/** Facts about one inbound CONNECT, passed explicitly to the decision (never hung on the socket). */
export interface Connection {
  /** `:authority`, the original destination `ip:port` (already checked to be one). */
  readonly authority: string;
  /** SPIFFE id of the client certificate (for a waypoint hop, the waypoint's). */
  readonly peerIdentity: string;
  /** TCP peer `ip:port` of the HBONE session. */
  readonly peerAddress: string;
  /** Local `ip:port` the session arrived on (which pod netns listener). */
  readonly localAddress: string;
  readonly headers: ConnectHeaders;
}

/**
 * The owner's answer to a CONNECT (DESIGN §7 inbound answers):
 * - 200 with the upstream already connected: the server answers 200 and splices;
 * - 401: denied by policy;
 * - 503: the upstream could not be reached.
 */
export type ConnectDecision =
  | { readonly status: 200; readonly upstream: Duplex }
  | { readonly status: 401; readonly reason?: string }
  | { readonly status: 503; readonly reason?: string };
