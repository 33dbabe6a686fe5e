// Routes the LoadBalancer pool from the host to the nodes, so the host reaches LB addresses as a client outside
// the cluster would: the packet lands in a node's netns, where kube-proxy's rules DNAT it to an endpoint.
//
// Why a route: the pool lies inside the underlay's 172.30.0.0/24, so without one the host would ARP for an LB
// address on the bridge and nobody answers (kube-proxy's iptables mode owns no address). These more specific
// routes win over the bridge's connected /24. With several nodes each route is ECMP over all of them, like a cloud
// load balancer spreading flows over the nodes (the kernel hashes source and destination address: one flow, one
// node). Nodes and pods never use these routes: kube-proxy catches LB addresses in their own netns first.
// The routes name the bridge as their device, so removing the bridge (teardown, or reap after a crash) removes
// them too; stop() deletes them first anyway.
import { run, tryRun } from '../network/run.ts';
import type { Pool } from './lb-pool.ts';
import { poolPrefixes } from './lb-pool.ts';

/** `ip route replace` of one pool prefix via every node (ECMP when there are several). */
export function lbRouteArgv(prefix: string, bridge: string, nodeIps: readonly string[]): string[] {
  const [only, ...more] = nodeIps;
  if (only === undefined) throw new RangeError('a pool route needs at least one node');
  if (more.length === 0) return ['ip', 'route', 'replace', prefix, 'via', only, 'dev', bridge];
  return [
    'ip',
    'route',
    'replace',
    prefix,
    ...nodeIps.flatMap((ip) => ['nexthop', 'via', ip, 'dev', bridge]),
  ];
}

export function lbRouteCommands(p: Pool, bridge: string, nodeIps: readonly string[]): string[][] {
  return poolPrefixes(p).map((prefix) => lbRouteArgv(prefix, bridge, nodeIps));
}

export function lbRouteRemovals(p: Pool, bridge: string): string[][] {
  return poolPrefixes(p).map((prefix) => ['ip', 'route', 'del', prefix, 'dev', bridge]);
}

export interface LbRoutes {
  /** Deletes the routes; those already gone (with the bridge) are fine. Idempotent. */
  remove(): Promise<void>;
}

/** Adds the pool routes on the host; on a failure, removes what it added and rethrows. */
export async function installLbRoutes(
  p: Pool,
  bridge: string,
  nodeIps: readonly string[],
): Promise<LbRoutes> {
  const remove = async (): Promise<void> => {
    for (const argv of lbRouteRemovals(p, bridge)) await tryRun(argv);
  };
  try {
    for (const argv of lbRouteCommands(p, bridge, nodeIps)) await run(argv);
  } catch (err) {
    await remove();
    throw err;
  }
  return { remove };
}
