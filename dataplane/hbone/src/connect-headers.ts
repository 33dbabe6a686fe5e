// The CONNECT request on the wire (definitions only): the headers a client sends, and what a server reads from
// them. `:authority` is the original destination `ip:port`; `forwarded`, `baggage` and `traceparent` ride along.
import { isIP } from 'node:net';
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http2';

/** Header values an HBONE server passes on to its decision, as received. */
export interface ConnectHeaders {
  /** RFC 7239, e.g. `for=10.0.0.7`: the original source address. */
  readonly forwarded?: string;
  /** W3C baggage (Istio carries workload metadata here), as received: read it with `parseBaggage`. */
  readonly baggage?: string;
  /** W3C trace context. */
  readonly traceparent?: string;
}

/** Options for the headers a client sends. */
export interface ConnectHeaderOptions {
  /** The original source IP; sent as `forwarded: for=<ip>`. */
  readonly forwardedFor?: string;
  readonly baggage?: string;
  readonly traceparent?: string;
}

export interface HostPort {
  readonly host: string;
  readonly port: number;
}

/** Parses `ip:port` (`[v6]:port` for IPv6). Host names are refused: HBONE addresses are IPs. */
export function parseAddress(address: string): HostPort | undefined {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([0-9.]+)):(\d{1,5})$/.exec(address);
  if (!m) return undefined;
  const host = m[1] ?? m[2]!;
  const port = Number(m[3]);
  if (port < 1 || port > 65_535) return undefined;
  if (m[1] !== undefined ? isIP(host) !== 6 : isIP(host) !== 4) return undefined;
  return { host, port };
}

/** `forwarded` for a source IP (RFC 7239 §6: an IPv6 node is quoted and bracketed). */
export function formatForwardedFor(ip: string): string {
  return isIP(ip) === 6 ? `for="[${ip}]"` : `for=${ip}`;
}

/** The source IP in a `forwarded` value (first element, `for=` parameter), if it is an IP. */
export function parseForwardedFor(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const first = value.split(',')[0] ?? '';
  for (const pair of first.split(';')) {
    const eq = pair.indexOf('=');
    if (eq < 0 || pair.slice(0, eq).trim().toLowerCase() !== 'for') continue;
    let node = pair.slice(eq + 1).trim();
    if (node.startsWith('"') && node.endsWith('"')) node = node.slice(1, -1);
    if (node.startsWith('[')) node = node.slice(1, node.indexOf(']'));
    return isIP(node) !== 0 ? node : undefined;
  }
  return undefined;
}

export function connectRequestHeaders(
  authority: string,
  opts: ConnectHeaderOptions = {},
): OutgoingHttpHeaders {
  const headers: OutgoingHttpHeaders = { ':method': 'CONNECT', ':authority': authority };
  if (opts.forwardedFor !== undefined) headers.forwarded = formatForwardedFor(opts.forwardedFor);
  if (opts.baggage !== undefined) headers.baggage = opts.baggage;
  if (opts.traceparent !== undefined) headers.traceparent = opts.traceparent;
  return headers;
}

export type InboundRequest =
  | { readonly kind: 'connect'; readonly authority: string; readonly headers: ConnectHeaders }
  | { readonly kind: 'refuse'; readonly status: 400; readonly reason: string };

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/**
 * Reads an inbound request: a CONNECT (no `:protocol`, so not extended CONNECT) to an `ip:port` authority is
 * HBONE; anything else is answered 400 (DESIGN §8), never with a stream refusal.
 */
export function parseInboundRequest(headers: IncomingHttpHeaders): InboundRequest {
  const method = single(headers[':method']);
  if (method !== 'CONNECT' || headers[':protocol'] !== undefined) {
    return { kind: 'refuse', status: 400, reason: `method ${method ?? '(none)'} is not CONNECT` };
  }
  const authority = single(headers[':authority']) ?? '';
  if (parseAddress(authority) === undefined) {
    return { kind: 'refuse', status: 400, reason: `authority ${JSON.stringify(authority)} is not ip:port` };
  }
  const out: { forwarded?: string; baggage?: string; traceparent?: string } = {};
  const forwarded = single(headers.forwarded);
  const baggage = single(headers.baggage);
  const traceparent = single(headers.traceparent);
  if (forwarded !== undefined) out.forwarded = forwarded;
  if (baggage !== undefined) out.baggage = baggage;
  if (traceparent !== undefined) out.traceparent = traceparent;
  return { kind: 'connect', authority, headers: out };
}
