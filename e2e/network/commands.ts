// Turns a network plan into the exact argv lists that create, change and remove it (no I/O, so they are unit-tested).
import type { MadeObject } from './names.ts';
import { madeMarkerChainName } from './names.ts';
import type { NetworkPlan, NodePlan, RoutePlan } from './plan.ts';

/** One command of the creation sequence. */
export interface Step {
  /** What the step does, in words, for error messages ("create bridge tbr0"). */
  readonly what: string;
  readonly argv: readonly string[];
}

/** What the host is like, as probed by network.ts just before creating the box. */
export interface HostFacts {
  /** The kernel has br_netfilter (built in, already loaded, or just loaded by modprobe). */
  readonly brNetfilter: boolean;
  /**
   * What does not exist yet and the box will bring into existence as a side effect (see `MadeObject`); each gets
   * a marker chain first, so that teardown (or reap after a crash) removes it again.
   */
  readonly willCreate: readonly MadeObject[];
}

export const DEFAULT_HOST_FACTS: HostFacts = { brNetfilter: true, willCreate: [] };

/** `-w`: wait for the xtables lock (legacy backend) rather than fail when another iptables runs. */
export function iptables(...args: string[]): string[] {
  return ['iptables', '-w', '-t', 'filter', ...args];
}

function commentArgs(plan: NetworkPlan): string[] {
  return ['-m', 'comment', '--comment', plan.tag];
}

/** The jump from a built-in chain into the guard chain, as added (`-I <hook> 1`) and deleted (`-D <hook>`). */
function jumpSpec(plan: NetworkPlan): string[] {
  return [...commentArgs(plan), '-j', plan.guard.chain];
}

function guardSteps(plan: NetworkPlan, facts: HostFacts): Step[] {
  const { chain } = plan.guard;
  const steps: Step[] = facts.willCreate.map((what) => ({
    what: `record that the box creates ${what}`,
    argv: iptables('-N', madeMarkerChainName(plan.box, what)),
  }));
  steps.push({ what: `create guard chain ${chain}`, argv: iptables('-N', chain) });
  for (const rule of plan.guard.rules) {
    steps.push({
      what: `add guard rule ${[...rule.match, '-j', rule.target].join(' ')}`,
      argv: iptables('-A', chain, ...rule.match, ...commentArgs(plan), '-j', rule.target),
    });
  }
  for (const hook of plan.guard.hooks) {
    steps.push({ what: `jump from ${hook} to ${chain}`, argv: iptables('-I', hook, '1', ...jumpSpec(plan)) });
  }
  return steps;
}

function bridgeSteps(plan: NetworkPlan): Step[] {
  const { bridge, hostAddress } = plan.underlay;
  return [
    { what: `create bridge ${bridge}`, argv: ['ip', 'link', 'add', bridge, 'type', 'bridge'] },
    {
      what: `tag and bring up ${bridge}`,
      argv: ['ip', 'link', 'set', 'dev', bridge, 'alias', plan.tag, 'up'],
    },
    { what: `address ${bridge}`, argv: ['ip', 'addr', 'add', hostAddress, 'dev', bridge] },
  ];
}

function routeArgv(verb: 'replace' | 'del', route: RoutePlan, netns?: string): string[] {
  const where = netns === undefined ? [] : ['-n', netns];
  return ['ip', ...where, 'route', verb, route.to, 'via', route.via, 'dev', route.dev];
}

function sysctlArgv(node: NodePlan, facts: HostFacts): string[] {
  const settings = node.sysctls
    .filter((s) => s.needs !== 'br_netfilter' || facts.brNetfilter)
    .map((s) => `${s.key}=${s.value}`);
  return ['ip', 'netns', 'exec', node.netns, 'sysctl', '-q', '-w', ...settings];
}

function nodeSteps(plan: NetworkPlan, node: NodePlan, facts: HostFacts): Step[] {
  const ns = node.netns;
  const inNs = (...args: string[]) => ['ip', '-n', ns, ...args];
  return [
    { what: `create netns ${ns}`, argv: ['ip', 'netns', 'add', ns] },
    // Before the veth exists, so its eth0 is created with the netns' default rp_filter already 0.
    { what: `set sysctls in ${ns}`, argv: sysctlArgv(node, facts) },
    {
      what: `create veth ${node.hostVeth} to ${ns}`,
      argv: ['ip', 'link', 'add', node.hostVeth, 'type', 'veth', 'peer', 'name', node.nodeVeth, 'netns', ns],
    },
    {
      what: `attach ${node.hostVeth} to ${plan.underlay.bridge}`,
      argv: [
        'ip',
        'link',
        'set',
        'dev',
        node.hostVeth,
        'alias',
        plan.tag,
        'master',
        plan.underlay.bridge,
        'up',
      ],
    },
    { what: `bring up lo in ${ns}`, argv: inNs('link', 'set', 'dev', 'lo', 'up') },
    {
      what: `address ${node.nodeVeth} in ${ns}`,
      argv: inNs('addr', 'add', node.address, 'dev', node.nodeVeth),
    },
    { what: `bring up ${node.nodeVeth} in ${ns}`, argv: inNs('link', 'set', 'dev', node.nodeVeth, 'up') },
    ...node.routes.map((r) => ({ what: `route ${r.to} in ${ns}`, argv: routeArgv('replace', r, ns) })),
  ];
}

/**
 * Every command that creates the network of `plan`, in order: the guard first (so no box address ever exists
 * unguarded), then the bridge, then each node, then the host's pod CIDR routes.
 */
export function commandsFor(plan: NetworkPlan, facts: HostFacts = DEFAULT_HOST_FACTS): Step[] {
  return [
    ...guardSteps(plan, facts),
    ...bridgeSteps(plan),
    ...plan.nodes.flatMap((node) => nodeSteps(plan, node, facts)),
    ...plan.hostRoutes.map((r) => ({ what: `route ${r.to} on the host`, argv: routeArgv('replace', r) })),
  ];
}

/**
 * Every command that removes the network of `plan`, links first and the guard last (so no box address exists
 * unguarded). Each may fail because its object is already gone; the caller runs them all and then checks that
 * nothing of the box is left (reap.ts). Marker chains and what they record are left to reap.ts, which must look
 * at the table first.
 */
export function teardownCommands(plan: NetworkPlan): string[][] {
  const { chain } = plan.guard;
  return [
    ...plan.nodes.flatMap((node) => [
      // Deleting the netns alone leaves the pair while any process still runs in it.
      ['ip', 'link', 'del', 'dev', node.hostVeth],
      ['ip', 'netns', 'del', node.netns],
    ]),
    ['ip', 'link', 'del', 'dev', plan.underlay.bridge],
    ...plan.guard.hooks.map((hook) => iptables('-D', hook, ...jumpSpec(plan))),
    iptables('-F', chain),
    iptables('-X', chain),
  ];
}

function routeKey(r: RoutePlan): string {
  return `${r.to} via ${r.via} dev ${r.dev}`;
}

function routeChanges(
  before: readonly RoutePlan[],
  after: readonly RoutePlan[],
  where: string,
  netns?: string,
) {
  const kept = new Set(after.map((r) => r.to));
  const had = new Set(before.map(routeKey));
  const dels = before
    .filter((r) => !kept.has(r.to))
    .map((r) => ({ what: `remove route ${r.to} ${where}`, argv: routeArgv('del', r, netns) }));
  const puts = after
    .filter((r) => !had.has(routeKey(r)))
    .map((r) => ({ what: `route ${r.to} ${where}`, argv: routeArgv('replace', r, netns) }));
  return { dels, puts };
}

/**
 * The commands that move the routes of a running network from `before` to `after` (same box and nodes, other pod
 * CIDRs): stale routes are deleted first, then new or changed ones are put in place with `ip route replace`.
 */
export function routeCommands(before: NetworkPlan, after: NetworkPlan): Step[] {
  const changes = after.nodes.map((node, i) =>
    routeChanges(before.nodes[i]?.routes ?? [], node.routes, `in ${node.netns}`, node.netns),
  );
  changes.push(routeChanges(before.hostRoutes, after.hostRoutes, 'on the host'));
  return [...changes.flatMap((c) => c.dels), ...changes.flatMap((c) => c.puts)];
}
