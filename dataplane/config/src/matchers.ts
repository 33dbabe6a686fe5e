// Value matchers used by authorization: Istio's string patterns and IPv4 CIDRs.
import { isIPv4 } from 'node:net';

/**
 * Istio's string forms: `*` (any present value), `prefix*`, `*suffix`, or exact. An absent value (a plaintext
 * caller's principal) matches nothing, not even `*`.
 */
export function matchesPattern(pattern: string, value: string | undefined): boolean {
  if (value === undefined) return false;
  if (pattern === '*') return true;
  if (pattern.endsWith('*')) return value.startsWith(pattern.slice(0, -1));
  if (pattern.startsWith('*')) return value.endsWith(pattern.slice(1));
  return pattern === value;
}

/**
 * Istio's host forms, case-insensitive (DNS names are): `*`, `*.suffix`, `prefix*`, or exact. The value is a host
 * without its port (see `hostOf`).
 */
export function matchesHostPattern(pattern: string, host: string): boolean {
  return matchesPattern(pattern.toLowerCase(), host.toLowerCase());
}

/** The host of a Host header or `:authority`, without the port: `a.b:80` → `a.b`, `[fd00::1]:80` → `[fd00::1]`. */
export function hostOf(authority: string): string {
  if (authority.startsWith('[')) {
    const end = authority.indexOf(']');
    return end < 0 ? authority : authority.slice(0, end + 1);
  }
  const colon = authority.lastIndexOf(':');
  return colon < 0 ? authority : authority.slice(0, colon);
}

/** The path of a request-target without its query string or fragment (what Istio's `paths` compare against). */
export function pathOf(target: string): string {
  const end = target.search(/[?#]/);
  return end < 0 ? target : target.slice(0, end);
}

/** An IPv4 CIDR as a network number and mask. */
export interface Ipv4Cidr {
  readonly network: number;
  readonly mask: number;
}

function ipv4ToNumber(ip: string): number {
  return ip.split('.').reduce((acc, octet) => acc * 256 + Number(octet), 0);
}

/** Parses `a.b.c.d` or `a.b.c.d/n`; returns undefined for anything else (IPv6 included). */
export function parseIpv4Cidr(text: string): Ipv4Cidr | undefined {
  const [ip, bits, extra] = text.split('/');
  if (extra !== undefined || ip === undefined || !isIPv4(ip)) return undefined;
  const prefix = bits === undefined ? 32 : Number(bits);
  if (!/^\d{1,2}$/.test(bits ?? '32') || prefix > 32) return undefined;
  const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  return { network: (ipv4ToNumber(ip) & mask) >>> 0, mask };
}

/** Whether `ip` lies in the CIDR `cidr`. Non-IPv4 on either side never matches (the mesh is IPv4-only for now). */
export function ipInCidr(ip: string, cidr: string): boolean {
  const parsed = parseIpv4Cidr(cidr);
  if (!parsed || !isIPv4(ip)) return false;
  return (ipv4ToNumber(ip) & parsed.mask) >>> 0 === parsed.network;
}
