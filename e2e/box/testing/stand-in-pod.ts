// Test helper: a "pod" without a kubelet: a netns wired into a node's netns by a veth, with an address from the
// node's pod CIDR, routed the way Calico wires pods (a /32 plus a link-local gateway the node answers by proxy ARP).
import { formatIpv4, parseCidr } from '../../network/cidr.ts';
import { run, tryRun } from '../../network/run.ts';
import type { BoxNode } from '../box.ts';

/** The pod's gateway: never assigned anywhere; the node's end of the veth answers ARP for it (proxy_arp). */
const GATEWAY = '169.254.1.1';

export interface StandInPod {
  readonly netns: string;
  readonly ip: string;
  readonly node: string;
  /** Deletes the netns (and so the veth pair); stop the processes in it first. Idempotent. */
  remove(): Promise<void>;
}

/** Host number `host` of a pod CIDR, e.g. (10.244.1.0/24, 200) → 10.244.1.200. */
export function podAddress(podCidr: string, host: number): string {
  const cidr = parseCidr(podCidr);
  if (cidr === undefined) throw new Error(`not a CIDR: ${podCidr}`);
  return formatIpv4(cidr.base + host);
}

/**
 * Creates netns `<box>-pod<k>` (the box prefix, so reaping the box removes it too) with `eth0` = `ip`/32, whose
 * peer `sp<k>` sits in the node's netns with a /32 route to the pod.
 */
export async function createStandInPod(
  box: string,
  node: BoxNode,
  k: number,
  ip: string,
): Promise<StandInPod> {
  const netns = `${box}-pod${k}`;
  const nodeSide = `sp${k}`;
  const inNode = (...args: string[]): string[] => ['ip', '-n', node.netns, ...args];
  const inPod = (...args: string[]): string[] => ['ip', '-n', netns, ...args];
  const remove = async (): Promise<void> => {
    await tryRun(['ip', 'netns', 'del', netns]);
  };
  try {
    await run(['ip', 'netns', 'add', netns]);
    await run(inNode('link', 'add', nodeSide, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', netns));
    await run([
      'ip',
      'netns',
      'exec',
      node.netns,
      'sysctl',
      '-q',
      '-w',
      `net.ipv4.conf.${nodeSide}.proxy_arp=1`,
    ]);
    await run(inNode('link', 'set', 'dev', nodeSide, 'up'));
    await run(inNode('route', 'add', `${ip}/32`, 'dev', nodeSide));
    await run(inPod('link', 'set', 'dev', 'lo', 'up'));
    await run(inPod('addr', 'add', `${ip}/32`, 'dev', 'eth0'));
    await run(inPod('link', 'set', 'dev', 'eth0', 'up'));
    await run(inPod('route', 'add', GATEWAY, 'dev', 'eth0', 'scope', 'link'));
    await run(inPod('route', 'add', 'default', 'via', GATEWAY, 'dev', 'eth0'));
  } catch (err) {
    await remove();
    throw err;
  }
  return { netns, ip, node: node.name, remove };
}
