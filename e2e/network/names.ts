// Every name the box network puts on the host, derived from the box name so that reap can find them after a crash.

/**
 * A box name: a lowercase letter then up to 7 lowercase letters or digits. No dash, so `<box>-` prefixes never
 * collide between boxes, and short enough that `<box>br0` and `<box>v<99>` fit Linux's 15-character IFNAMSIZ.
 */
export const BOX_NAME = /^[a-z][a-z0-9]{0,7}$/;

/** A node name: a DNS label (what Kubernetes accepts in `metadata.name` of a Node, minus dots). */
export const NODE_NAME = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** Linux interface names are at most IFNAMSIZ - 1 characters. */
export const MAX_IFNAME = 15;

/** iptables chain names are at most XT_EXTENSION_MAXNAMELEN - 1 characters. */
export const MAX_CHAIN_NAME = 28;

/** Interface name of the node end of each veth, inside the node netns. */
export const NODE_IFNAME = 'eth0';

/** The iptables comment on every rule of the box and the alias (ifalias) of every host link it creates. */
export function boxTag(box: string): string {
  return `ambit-box:${box}`;
}

export function bridgeName(box: string): string {
  return `${box}br0`;
}

/** Host end of node `index`'s veth. */
export function hostVethName(box: string, index: number): string {
  return `${box}v${index}`;
}

export function netnsName(box: string, node: string): string {
  return `${box}-${node}`;
}

/** The prefix shared by every netns of the box (box names have no dash, so this is unambiguous). */
export function netnsPrefix(box: string): string {
  return `${box}-`;
}

/** The user chain holding the box's host-side DROP rules. */
export function guardChainName(box: string): string {
  return `AMBIT-${box}`;
}

/**
 * What the box may bring into existence as a side effect, beyond its own names: with iptables' nf_tables backend,
 * the `filter` TABLE and its FORWARD and OUTPUT base chains (the first rule creates them); and the NETNSMNT, the
 * bind mount of /run/netns on itself that the first `ip netns add` after boot makes.
 */
export type MadeObject = 'TABLE' | 'FORWARD' | 'OUTPUT' | 'NETNSMNT';

export const MADE_OBJECTS: readonly MadeObject[] = ['NETNSMNT', 'TABLE', 'FORWARD', 'OUTPUT'];

/**
 * An empty, unreferenced chain whose existence records that the box created `what`, so teardown (or reap after a
 * crash) can remove it again and leave the host as it found it. It lives with the box's other iptables state
 * because that is what reap reads; at most 28 characters.
 */
export function madeMarkerChainName(box: string, what: MadeObject): string {
  return `AMBIT-${box}-MADE-${what}`;
}

/** True if `chain` is one of the box's chains (guard or marker). */
export function isBoxChain(box: string, chain: string): boolean {
  return chain === guardChainName(box) || chain.startsWith(`${guardChainName(box)}-`);
}

/** True if `link` is named like one of the box's host links (`<box>br0`, `<box>v<n>`). */
export function isBoxLinkName(box: string, link: string): boolean {
  const prefix = `${box}v`;
  return link === bridgeName(box) || (link.startsWith(prefix) && /^[0-9]+$/.test(link.slice(prefix.length)));
}
