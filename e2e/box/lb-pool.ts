// Allocates LoadBalancer addresses from the box's pool on the underlay, as a pure function of the Services (no I/O).
//
// Invariants of `allocate` (level-based: the Services' statuses are the only state, so a restarted allocator
// agrees with the last one):
//   1. Only Services of type LoadBalancer without a `loadBalancerClass` (the default class is ours) get an address.
//   2. A Service keeps the pool address its status already shows, unless an older Service holds it too.
//   3. Otherwise it gets the address `spec.loadBalancerIP` asks for if that is in the pool and free, else the
//      lowest free one, else none (it stays pending, as on a cloud whose quota is used up).
//   4. Older Services (creation time, then namespace/name) are served first, so the outcome is deterministic.
//   5. An address is free again as soon as its Service is deleted or stops being of type LoadBalancer.
import { formatCidr, formatIpv4, parseIpv4 } from '../network/cidr.ts';

/** The pool of e2e/README.md's address plan: on the underlay, above every node address. */
export const LB_POOL_FIRST = '172.30.0.200';
export const LB_POOL_LAST = '172.30.0.250';

export interface Pool {
  readonly first: number;
  readonly last: number;
}

export function pool(first = LB_POOL_FIRST, last = LB_POOL_LAST): Pool {
  const a = parseIpv4(first);
  const b = parseIpv4(last);
  if (a === undefined || b === undefined || a > b) throw new RangeError(`bad address pool ${first}-${last}`);
  return { first: a, last: b };
}

export function inPool(p: Pool, ip: string): boolean {
  const n = parseIpv4(ip);
  return n !== undefined && n >= p.first && n <= p.last;
}

/** What the allocator reads from a Service. */
export interface LbService {
  /** `namespace/name` */
  readonly key: string;
  readonly type: string;
  readonly loadBalancerClass: string | undefined;
  /** `spec.loadBalancerIP` (deprecated upstream, still honoured by most providers). */
  readonly requestedIp: string | undefined;
  /** Creation time, epoch milliseconds. */
  readonly created: number;
  /** `status.loadBalancer.ingress[*].ip`. */
  readonly currentIps: readonly string[];
}

export function isOurs(svc: LbService): boolean {
  return svc.type === 'LoadBalancer' && svc.loadBalancerClass === undefined;
}

const byAge = (a: LbService, b: LbService): number =>
  a.created - b.created || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);

/** The address each of our Services should have (undefined: pending), keyed by `namespace/name`. */
export function allocate(p: Pool, services: readonly LbService[]): Map<string, string | undefined> {
  const ours = services.filter(isOurs).sort(byAge);
  const taken = new Set<string>();
  const out = new Map<string, string | undefined>();
  for (const svc of ours) {
    const kept = svc.currentIps.find((ip) => inPool(p, ip) && !taken.has(ip));
    if (kept !== undefined) taken.add(kept);
    out.set(svc.key, kept);
  }
  for (const svc of ours) {
    if (out.get(svc.key) !== undefined) continue;
    let ip: string | undefined;
    if (svc.requestedIp !== undefined && inPool(p, svc.requestedIp) && !taken.has(svc.requestedIp)) {
      ip = svc.requestedIp;
    } else {
      for (let n = p.first; n <= p.last && ip === undefined; n++) {
        if (!taken.has(formatIpv4(n))) ip = formatIpv4(n);
      }
    }
    if (ip !== undefined) taken.add(ip);
    out.set(svc.key, ip);
  }
  return out;
}

/**
 * The fewest CIDRs that cover the pool exactly (172.30.0.200-250: /29, /28, /28, /29, /31, /32), so host routes
 * to the pool take no address outside it.
 */
export function poolPrefixes(p: Pool): string[] {
  const out: string[] = [];
  let n = p.first;
  while (n <= p.last) {
    let size = 1;
    // Grow the block while it stays aligned at n and inside the pool.
    while (n % (size * 2) === 0 && n + size * 2 - 1 <= p.last) size *= 2;
    out.push(formatCidr({ base: n, prefix: 32 - Math.log2(size) }));
    n += size;
  }
  return out;
}
