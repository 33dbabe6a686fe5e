// Finds host addresses and routes inside the box's ranges that the box did not make: another box, or a network
// the host already uses, which the box must not shadow (no I/O; network.ts passes in `ip -j` output).
import { cidrContains, cidrHas, parseCidr, parseIpv4 } from './cidr.ts';

interface IpAddrJson {
  readonly ifname?: string;
  readonly addr_info?: readonly {
    readonly family?: string;
    readonly local?: string;
    readonly prefixlen?: number;
  }[];
}

interface IpRouteJson {
  readonly dst?: string;
  readonly dev?: string;
}

/**
 * One sentence per conflict. `ranges` are the CIDRs the box will own (underlay, cluster, service). A route to a
 * wider network (10.0.0.0/8 via a LAN) is not a conflict: the box's narrower routes win inside its ranges.
 */
export function findConflicts(addrJson: string, routeJson: string, ranges: readonly string[]): string[] {
  const parsed = ranges.map((text) => ({ text, cidr: parseCidr(text) }));
  const within = (ip: number) => parsed.find((r) => r.cidr !== undefined && cidrHas(r.cidr, ip))?.text;
  const conflicts: string[] = [];
  const links = addrJson.trim() === '' ? [] : (JSON.parse(addrJson) as IpAddrJson[]);
  for (const link of links) {
    for (const a of link.addr_info ?? []) {
      const ip = a.family === 'inet' && a.local !== undefined ? parseIpv4(a.local) : undefined;
      const range = ip === undefined ? undefined : within(ip);
      if (range !== undefined) conflicts.push(`address ${a.local} on ${link.ifname} is inside ${range}`);
    }
  }
  const routes = routeJson.trim() === '' ? [] : (JSON.parse(routeJson) as IpRouteJson[]);
  for (const route of routes) {
    if (route.dst === undefined || route.dst === 'default') continue;
    const dst = parseCidr(route.dst.includes('/') ? route.dst : `${route.dst}/32`);
    const range = parsed.find((r) => r.cidr !== undefined && dst !== undefined && cidrContains(r.cidr, dst));
    if (range !== undefined) conflicts.push(`route ${route.dst} dev ${route.dev} is inside ${range.text}`);
  }
  return conflicts;
}
