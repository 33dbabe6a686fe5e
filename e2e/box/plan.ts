// Plans a box as plain data: its name, node names and addresses, and where each file of it lives (no I/O).
import { join } from 'node:path';
import { BOX_NAME, MAX_NODES, NODE_IP_OFFSET, UNDERLAY_CIDR } from '../network/index.ts';
import { formatIpv4, parseCidr } from '../network/cidr.ts';
import { BoxError } from './errors.ts';

/** The box `up.ts` and tests get unless they name one. */
export const DEFAULT_BOX_NAME = 'abox';
export const DEFAULT_NODE_COUNT = 2;

/** kube-proxy's healthz and metrics ports (its defaults), on the node IP inside the node's netns. */
export const KUBE_PROXY_HEALTHZ_PORT = 10256;
export const KUBE_PROXY_METRICS_PORT = 10249;

export interface BoxNodeLayout {
  readonly name: string;
  readonly index: number;
  /** Underlay address of the node (its netns' eth0). */
  readonly ip: string;
  /** Per-node files: kubeconfigs, and whatever the node hook keeps. */
  readonly dir: string;
  /** Kubeconfig as `system:node:<name>` (group `system:nodes`): what a kubelet on this node uses. */
  readonly nodeKubeconfig: string;
  /** Kubeconfig as `system:kube-proxy`. */
  readonly kubeProxyKubeconfig: string;
  readonly kubeProxyLog: string;
  /** Pid file name (without `.pid`) in the work dir, so the next start of this box reaps a leftover kube-proxy. */
  readonly kubeProxyPidName: string;
}

export interface BoxPlan {
  readonly name: string;
  readonly workDir: string;
  /** startCluster's work dir (it reaps its own leftovers from pid files there). */
  readonly clusterDir: string;
  readonly logDir: string;
  readonly nodes: readonly BoxNodeLayout[];
}

export interface BoxPlanInput {
  readonly name: string;
  readonly nodes: number;
  readonly workDir: string;
}

/** Node i is called `node-<i>`, so its netns is `<box>-node-<i>`. */
export function nodeName(index: number): string {
  return `node-${index}`;
}

/** 172.30.0.(10+i): the same address the network plan gives node i. */
export function nodeUnderlayIp(index: number): string {
  const base = parseCidr(UNDERLAY_CIDR)?.base ?? 0;
  return formatIpv4(base + NODE_IP_OFFSET + index);
}

/** The node's stand-in for `/` (hostPath volumes, its /etc/cni/net.d and /opt/cni/bin), under its dir. */
export function nodeRootDir(nodeDir: string): string {
  return join(nodeDir, 'root');
}

/** The work dir of box `name` when none is given: fixed, so a crashed run is found and reaped by the next. */
export function defaultWorkDir(cacheDir: string, name: string): string {
  return join(cacheDir, 'box', name);
}

/** Validates the input and lays the box out; throws `ERR_BOX_INVALID_OPTION`. */
export function planBox(input: BoxPlanInput): BoxPlan {
  if (!BOX_NAME.test(input.name)) {
    throw new BoxError(
      'ERR_BOX_INVALID_OPTION',
      `box name ${JSON.stringify(input.name)} must match ${BOX_NAME.source} (it prefixes interface names)`,
    );
  }
  if (!Number.isInteger(input.nodes) || input.nodes < 1 || input.nodes > MAX_NODES) {
    throw new BoxError('ERR_BOX_INVALID_OPTION', `a box has 1 to ${MAX_NODES} nodes, got ${input.nodes}`);
  }
  const logDir = join(input.workDir, 'logs');
  const nodes = Array.from({ length: input.nodes }, (_, index): BoxNodeLayout => {
    const name = nodeName(index);
    const dir = join(input.workDir, 'nodes', name);
    return {
      name,
      index,
      ip: nodeUnderlayIp(index),
      dir,
      nodeKubeconfig: join(dir, 'node.kubeconfig'),
      kubeProxyKubeconfig: join(dir, 'kube-proxy.kubeconfig'),
      kubeProxyLog: join(logDir, `kube-proxy-${name}.log`),
      kubeProxyPidName: `kube-proxy-${name}`,
    };
  });
  return {
    name: input.name,
    workDir: input.workDir,
    clusterDir: join(input.workDir, 'cluster'),
    logDir,
    nodes,
  };
}

/** What runs on each node: the box's kubelet, the caller's hook, or nothing (the box registers bare Nodes). */
export type NodeAgentKind = 'kubelet' | 'hook' | 'none';

export interface NodeAgentPlan {
  readonly kind: NodeAgentKind;
  /** Whether the box installs CoreDNS and waits for it. */
  readonly clusterDns: boolean;
  /** Whether the box installs Ambit (operator, then a Mesh) once it is up. */
  readonly ambit: boolean;
}

/**
 * Which agent each node runs, from startBox's options; throws `ERR_BOX_INVALID_OPTION` for a contradiction:
 * 1. a `startNode` hook wins; `kubelets: false` with a hook is a contradiction;
 * 2. otherwise the box's kubelets, unless `kubelets: false`;
 * 3. cluster DNS defaults to on with the box's kubelets only (a hook may run no pods), and needs pods to run;
 * 4. Ambit needs cluster DNS (so pods too).
 */
export function planNodeAgent(o: {
  readonly startNode?: unknown;
  readonly kubelets?: boolean;
  readonly clusterDns?: boolean;
  readonly ambit?: boolean;
}): NodeAgentPlan {
  if (o.startNode !== undefined && o.kubelets === false) {
    throw new BoxError('ERR_BOX_INVALID_OPTION', 'give either a startNode hook or kubelets: false, not both');
  }
  const kind: NodeAgentKind = o.startNode !== undefined ? 'hook' : o.kubelets === false ? 'none' : 'kubelet';
  const clusterDns = o.clusterDns ?? kind === 'kubelet';
  if (clusterDns && kind === 'none') {
    throw new BoxError(
      'ERR_BOX_INVALID_OPTION',
      'clusterDns needs nodes that run pods (kubelets: false given)',
    );
  }
  const ambit = o.ambit ?? false;
  if (ambit && !clusterDns) {
    throw new BoxError(
      'ERR_BOX_INVALID_OPTION',
      'ambit needs nodes that run pods and cluster DNS (its proxies find the control plane by name)',
    );
  }
  return { kind, clusterDns, ambit };
}
