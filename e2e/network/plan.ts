// Plans the simulated node network of a cluster-in-a-box as plain data: names, addresses, routes, sysctls and the
// host-side guard rules; no I/O (commands.ts turns a plan into argv lists, network.ts runs them).
//
// The topology of a box `<box>` with nodes n0, n1, ... (node i is 0-based; every name starts with the box name):
//
//   host (root netns)
//   +------------------------------------------------------------------------------------+
//   |  <box>br0  bridge, 172.30.0.1/24 (the apiserver binds here), alias ambit-box:<box>   |
//   |     |                      |                                                        |
//   |  <box>v0 (veth)         <box>v1 (veth)            ... <box>v<i>                      |
//   |  routes: 10.244.<pod CIDR of node i> via 172.30.0.(10+i) dev <box>br0                 |
//   |  iptables filter: FORWARD -> AMBIT-<box>, OUTPUT -> AMBIT-<box> (the guard, below)    |
//   +-----|----------------------|-------------------------------------------------------+
//         | veth pair            | veth pair
//   +-----|-------------------+  +-----|-------------------+
//   | eth0 172.30.0.10/24     |  | eth0 172.30.0.11/24     |
//   | netns <box>-n0          |  | netns <box>-n1          |
//   | default via 172.30.0.1  |  | default via 172.30.0.1  |
//   | 10.244.1.0/24           |  | 10.244.0.0/24           |
//   |   via 172.30.0.11       |  |   via 172.30.0.10       |
//   | (own pod CIDR           |  | (own pod CIDR           |
//   |  10.244.0.0/24: CNI)    |  |  10.244.1.0/24: CNI)    |
//   | ip_forward=1            |  | ip_forward=1            |
//   | rp_filter=0             |  | rp_filter=0             |
//   +-------------------------+  +-------------------------+
//
// Node to node traffic, pod CIDRs included, is bridged by <box>br0 at layer 2: the host never routes it, and its
// own ip_forward is left alone. A node's own pod CIDR is wired later, inside its netns, by the kubelet's CNI chain.
// The nodes' default route points at the host so that Service IPs have a route for kube-proxy to DNAT; anything
// else sent that way dies at the host (not routed while the host's ip_forward is off; dropped by the guard if on).
// Pod CIDRs are normally only known once kube-controller-manager has set `spec.podCIDR` on each Node, so a plan
// can start without them and get them (or new ones) later through `withPodCidrs`.
//
// The guard ("nothing leaves the machine", DESIGN §6): every packet the host forwards or sends passes through
// the chain AMBIT-<box>, which, in order:
//   1. accepts what enters and leaves by <box>br0: node-to-node frames that br_netfilter hands to iptables, which
//      never leave the underlay; accepted rather than returned so that a host whose FORWARD policy is DROP
//      (Docker sets that) does not cut the nodes off from each other;
//   2. returns (leaves the decision to the host's other rules) if it leaves by <box>br0: into the box's underlay;
//   3. returns if it leaves by lo: the host talking to itself, e.g. to 172.30.0.1;
//   4. drops it if it entered from <box>br0 (so it would leave by another interface);
//   5. drops it if its source or destination is in the underlay or cluster CIDR, or its destination is in the
//      service CIDR (so it would leave by another interface with a box address).
// So traffic within the bridge (rule 1) and loopback (rule 3) pass, and everything else that is not the box's
// falls off the chain's end unchanged.
import { cidrContains, cidrsOverlap, formatCidr, formatIpv4, parseCidr } from './cidr.ts';
import { NetworkError } from './errors.ts';
import {
  BOX_NAME,
  boxTag,
  bridgeName,
  guardChainName,
  hostVethName,
  NODE_IFNAME,
  NODE_NAME,
  netnsName,
} from './names.ts';

/** The underlay: the host's bridge and every node's eth0. */
export const UNDERLAY_CIDR = '172.30.0.0/24';
/** The host's address on the bridge; the apiserver binds and advertises it, and nodes route to it by default. */
export const HOST_UNDERLAY_IP = '172.30.0.1';
/** Node i gets 172.30.0.(NODE_IP_OFFSET + i). */
export const NODE_IP_OFFSET = 10;
/** kube-controller-manager's `--cluster-cidr`; every pod CIDR must lie inside it. */
export const CLUSTER_CIDR = '10.244.0.0/16';
/** The apiserver's `--service-cluster-ip-range`; guarded so a host process never sends towards it elsewhere. */
export const SERVICE_CIDR = '10.96.0.0/16';
/** Bounded so that node addresses stay below the LoadBalancer pool (.200) and veth names fit IFNAMSIZ. */
export const MAX_NODES = 100;

export interface PlanInput {
  /** Box name, see `BOX_NAME`. */
  readonly box: string;
  /** Node names in order; node i gets underlay address 172.30.0.(10+i). */
  readonly nodes: readonly string[];
  /**
   * The pod CIDR of each node, as kube-controller-manager assigned it (`spec.podCIDR`).
   * @default 10.244.<i>.0/24 for node i. Pass `{}` when they are not known yet: no pod routes until `withPodCidrs`.
   */
  readonly podCidrs?: Readonly<Record<string, string>>;
}

/** One route; `via` is always an underlay address reachable on `dev`. */
export interface RoutePlan {
  /** Destination CIDR, or `default`. */
  readonly to: string;
  readonly via: string;
  readonly dev: string;
}

export interface SysctlPlan {
  readonly key: string;
  readonly value: string;
  /** Set only when the kernel has this feature; the network reports it missing otherwise. */
  readonly needs?: 'br_netfilter';
}

export interface NodePlan {
  readonly name: string;
  readonly index: number;
  readonly netns: string;
  /** Host end of the veth, a port of the bridge. */
  readonly hostVeth: string;
  /** Node end of the veth, inside the netns. */
  readonly nodeVeth: string;
  /** Underlay address, e.g. `172.30.0.10`. */
  readonly ip: string;
  /** `ip` with the underlay prefix length, e.g. `172.30.0.10/24`. */
  readonly address: string;
  /** Undefined until known. */
  readonly podCidr: string | undefined;
  /** The default route to the host, then one route per other node's pod CIDR. */
  readonly routes: readonly RoutePlan[];
  readonly sysctls: readonly SysctlPlan[];
}

export interface GuardRule {
  /** iptables match arguments, e.g. `['-s', '10.244.0.0/16']`. */
  readonly match: readonly string[];
  readonly target: 'ACCEPT' | 'RETURN' | 'DROP';
}

export interface GuardPlan {
  /** The user chain in the `filter` table holding `rules`. */
  readonly chain: string;
  /** Built-in chains that jump to `chain` unconditionally, inserted first so no host rule accepts before it. */
  readonly hooks: readonly ('FORWARD' | 'OUTPUT')[];
  readonly rules: readonly GuardRule[];
}

export interface NetworkPlan {
  readonly box: string;
  /** The iptables comment on every rule and the alias of every host link: `ambit-box:<box>`. */
  readonly tag: string;
  readonly underlay: {
    readonly bridge: string;
    readonly cidr: string;
    readonly hostIp: string;
    /** `hostIp` with the prefix length, e.g. `172.30.0.1/24`. */
    readonly hostAddress: string;
  };
  readonly clusterCidr: string;
  readonly serviceCidr: string;
  readonly nodes: readonly NodePlan[];
  /** Host routes to every known pod CIDR via its node, so the host (apiserver webhooks, tests) reaches pods. */
  readonly hostRoutes: readonly RoutePlan[];
  readonly guard: GuardPlan;
}

function planError(message: string): NetworkError {
  return new NetworkError('ERR_NETWORK_PLAN', message);
}

function underlayPrefix(): number {
  return Number(UNDERLAY_CIDR.split('/')[1]);
}

function nodeIp(index: number): string {
  const base = parseCidr(UNDERLAY_CIDR)?.base ?? 0;
  return formatIpv4(base + NODE_IP_OFFSET + index);
}

function defaultPodCidr(index: number): string {
  const base = parseCidr(CLUSTER_CIDR)?.base ?? 0;
  return formatCidr({ base: base + index * 256, prefix: 24 });
}

function validateNames(box: string, nodes: readonly string[]): void {
  if (!BOX_NAME.test(box)) {
    throw planError(
      `box name ${JSON.stringify(box)} must match ${BOX_NAME.source} (it prefixes interface names)`,
    );
  }
  if (nodes.length === 0 || nodes.length > MAX_NODES) {
    throw planError(`a box needs 1 to ${MAX_NODES} nodes, got ${nodes.length}`);
  }
  const seen = new Set<string>();
  for (const node of nodes) {
    if (!NODE_NAME.test(node)) throw planError(`node name ${JSON.stringify(node)} must be a DNS label`);
    if (seen.has(node)) throw planError(`node name ${node} is given twice`);
    seen.add(node);
  }
}

/** Checks pod CIDRs: known nodes, aligned, inside the cluster CIDR, and no two overlapping. */
function validatePodCidrs(
  nodes: readonly string[],
  podCidrs: Readonly<Record<string, string | undefined>>,
): void {
  const cluster = parseCidr(CLUSTER_CIDR);
  const parsed: { node: string; text: string; cidr: NonNullable<ReturnType<typeof parseCidr>> }[] = [];
  for (const [node, text] of Object.entries(podCidrs)) {
    if (!nodes.includes(node)) throw planError(`pod CIDR given for unknown node ${node}`);
    if (text === undefined) continue;
    const cidr = parseCidr(text);
    if (cidr === undefined)
      throw planError(`pod CIDR ${JSON.stringify(text)} of node ${node} is not a network CIDR`);
    if (cluster === undefined || !cidrContains(cluster, cidr)) {
      throw planError(`pod CIDR ${text} of node ${node} is outside the cluster CIDR ${CLUSTER_CIDR}`);
    }
    const clash = parsed.find((p) => cidrsOverlap(p.cidr, cidr));
    if (clash !== undefined) {
      throw planError(`pod CIDR ${text} of node ${node} overlaps ${clash.text} of node ${clash.node}`);
    }
    parsed.push({ node, text, cidr });
  }
}

function nodeSysctls(): SysctlPlan[] {
  return [
    // The node routes for its pods (and kube-proxy DNATs for them).
    { key: 'net.ipv4.ip_forward', value: '1' },
    // Replies may come back on another interface than the one a route points at (pod veths, the node's eth0).
    { key: 'net.ipv4.conf.all.rp_filter', value: '0' },
    // Also for interfaces created later (pod veths), since the effective value is max(all, interface).
    { key: 'net.ipv4.conf.default.rp_filter', value: '0' },
    // kube-proxy must see traffic bridged between pods of one node, as on a real node.
    { key: 'net.bridge.bridge-nf-call-iptables', value: '1', needs: 'br_netfilter' },
  ];
}

function guardPlan(box: string, bridge: string): GuardPlan {
  const drop = (match: string[]): GuardRule => ({ match, target: 'DROP' });
  return {
    chain: guardChainName(box),
    hooks: ['FORWARD', 'OUTPUT'],
    rules: [
      { match: ['-i', bridge, '-o', bridge], target: 'ACCEPT' },
      { match: ['-o', bridge], target: 'RETURN' },
      { match: ['-o', 'lo'], target: 'RETURN' },
      drop(['-i', bridge]),
      drop(['-s', UNDERLAY_CIDR]),
      drop(['-s', CLUSTER_CIDR]),
      drop(['-d', UNDERLAY_CIDR]),
      drop(['-d', CLUSTER_CIDR]),
      drop(['-d', SERVICE_CIDR]),
    ],
  };
}

interface NodeBase {
  readonly name: string;
  readonly index: number;
  readonly ip: string;
  readonly podCidr: string | undefined;
}

function routesFor(self: NodeBase, all: readonly NodeBase[]): RoutePlan[] {
  const routes: RoutePlan[] = [{ to: 'default', via: HOST_UNDERLAY_IP, dev: NODE_IFNAME }];
  for (const other of all) {
    if (other.index === self.index || other.podCidr === undefined) continue;
    routes.push({ to: other.podCidr, via: other.ip, dev: NODE_IFNAME });
  }
  return routes;
}

function build(
  box: string,
  names: readonly string[],
  podCidrs: Readonly<Record<string, string | undefined>>,
) {
  const bridge = bridgeName(box);
  const bases: NodeBase[] = names.map((name, index) => ({
    name,
    index,
    ip: nodeIp(index),
    podCidr: podCidrs[name],
  }));
  const nodes: NodePlan[] = bases.map((base) => ({
    name: base.name,
    index: base.index,
    netns: netnsName(box, base.name),
    hostVeth: hostVethName(box, base.index),
    nodeVeth: NODE_IFNAME,
    ip: base.ip,
    address: `${base.ip}/${underlayPrefix()}`,
    podCidr: base.podCidr,
    routes: routesFor(base, bases),
    sysctls: nodeSysctls(),
  }));
  const hostRoutes = bases.flatMap((b) =>
    b.podCidr === undefined ? [] : [{ to: b.podCidr, via: b.ip, dev: bridge }],
  );
  const plan: NetworkPlan = {
    box,
    tag: boxTag(box),
    underlay: {
      bridge,
      cidr: UNDERLAY_CIDR,
      hostIp: HOST_UNDERLAY_IP,
      hostAddress: `${HOST_UNDERLAY_IP}/${underlayPrefix()}`,
    },
    clusterCidr: CLUSTER_CIDR,
    serviceCidr: SERVICE_CIDR,
    nodes,
    hostRoutes,
    guard: guardPlan(box, bridge),
  };
  return plan;
}

/** Plans the network of box `input.box`; throws `ERR_NETWORK_PLAN` on a bad name or pod CIDR. */
export function planNetwork(input: PlanInput): NetworkPlan {
  validateNames(input.box, input.nodes);
  const podCidrs = input.podCidrs ?? Object.fromEntries(input.nodes.map((n, i) => [n, defaultPodCidr(i)]));
  validatePodCidrs(input.nodes, podCidrs);
  return build(input.box, input.nodes, podCidrs);
}

/**
 * The same plan with the pod CIDRs of the nodes named in `podCidrs` set (added or replaced); other nodes keep
 * theirs. Throws `ERR_NETWORK_PLAN` for an unknown node or a bad or overlapping CIDR.
 */
export function withPodCidrs(plan: NetworkPlan, podCidrs: Readonly<Record<string, string>>): NetworkPlan {
  const names = plan.nodes.map((n) => n.name);
  const merged: Record<string, string | undefined> = Object.fromEntries(
    plan.nodes.map((n) => [n.name, n.podCidr]),
  );
  for (const [node, cidr] of Object.entries(podCidrs)) {
    if (!names.includes(node)) throw planError(`pod CIDR given for unknown node ${node}`);
    merged[node] = cidr;
  }
  validatePodCidrs(names, merged);
  return build(plan.box, names, merged);
}

/** The node called `name`, or `ERR_NETWORK_PLAN`. */
export function nodeOf(plan: NetworkPlan, name: string): NodePlan {
  const node = plan.nodes.find((n) => n.name === name);
  if (node === undefined) {
    throw planError(
      `box ${plan.box} has no node ${name} (nodes: ${plan.nodes.map((n) => n.name).join(', ')})`,
    );
  }
  return node;
}
