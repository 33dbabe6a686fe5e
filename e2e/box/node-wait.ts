// Waits for a Node to be registered (with an InternalIP) or to have its pod CIDR, reading it as the admin.
import { setTimeout as sleep } from 'node:timers/promises';
import { apiError, type ApiClient } from '../cluster/rest.ts';
import { BoxError } from './errors.ts';

/** The fields of a Node the box reads. */
export interface NodeView {
  readonly name: string;
  readonly internalIp: string | undefined;
  /** `spec.podCIDR`, set by kube-controller-manager's node IPAM once the Node exists. */
  readonly podCidr: string | undefined;
  readonly ready: boolean;
}

interface NodeJson {
  metadata: { name: string };
  spec?: { podCIDR?: string };
  status?: {
    addresses?: { type: string; address: string }[];
    conditions?: { type: string; status: string }[];
  };
}

export function nodeView(node: NodeJson): NodeView {
  return {
    name: node.metadata.name,
    internalIp: node.status?.addresses?.find((a) => a.type === 'InternalIP')?.address,
    podCidr: node.spec?.podCIDR,
    ready: node.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false,
  };
}

/** The Node, or undefined if there is none (yet). */
export async function readNode(api: ApiClient, name: string): Promise<NodeView | undefined> {
  const res = await api.request('GET', `/api/v1/nodes/${name}`);
  if (res.status === 404) return undefined;
  if (res.status !== 200) throw new BoxError('ERR_BOX_API', apiError(`get node ${name}`, res).message);
  return nodeView(JSON.parse(res.body) as NodeJson);
}

export type NodeMilestone = 'registered' | 'pod-cidr';

const reached = (node: NodeView | undefined, want: NodeMilestone): node is NodeView =>
  node !== undefined && (want === 'registered' ? node.internalIp !== undefined : node.podCidr !== undefined);

/**
 * Polls until Node `name` is registered with an InternalIP (what kube-proxy waits 30 s for at start) or has its pod
 * CIDR; throws `ERR_BOX_NODE` after `timeoutMs`.
 */
export async function waitForNode(
  api: ApiClient,
  name: string,
  want: NodeMilestone,
  timeoutMs = 60_000,
): Promise<NodeView> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const node = await readNode(api, name);
    if (reached(node, want)) return node;
    if (Date.now() >= deadline) {
      const what = want === 'registered' ? 'registered with an InternalIP' : 'given a pod CIDR';
      const hint =
        want === 'registered'
          ? 'the node hook (kubelet) must register it'
          : 'kube-controller-manager allocates it (--allocate-node-cidrs); see its log';
      throw new BoxError('ERR_BOX_NODE', `node ${name} was not ${what} within ${timeoutMs} ms (${hint})`);
    }
    await sleep(200);
  }
}
