// Installs the box's cluster DNS (the real CoreDNS as a Deployment behind kube-dns 10.96.0.10) and waits until the
// Deployment is Available.
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import type { Cluster } from '../cluster/index.ts';
import type { BoxNetwork } from '../network/index.ts';
import { apiError, type ApiClient } from '../cluster/rest.ts';
import { deploymentAvailable, describeDeployment, type DeploymentJson } from './deployment-ready.ts';
import { BoxError } from './errors.ts';

/** kubeadm's CoreDNS objects, minus any upstream (see the file's header). */
export const CLUSTER_DNS_MANIFEST = join(
  dirname(fileURLToPath(import.meta.url)),
  'manifests',
  'coredns.yaml',
);
export const CLUSTER_DNS_NAMESPACE = 'kube-system';
export const CLUSTER_DNS_DEPLOYMENT = 'coredns';

const DEPLOYMENT_PATH = `/apis/apps/v1/namespaces/${CLUSTER_DNS_NAMESPACE}/deployments/${CLUSTER_DNS_DEPLOYMENT}`;
const POLL_MS = 100;

interface PodListJson {
  items: {
    metadata: { name: string };
    spec?: { nodeName?: string };
    status?: {
      phase?: string;
      podIP?: string;
      containerStatuses?: { ready: boolean; state?: Record<string, { reason?: string; message?: string }> }[];
    };
  }[];
}

export async function readDeployment(api: ApiClient, path: string): Promise<DeploymentJson | undefined> {
  const res = await api.request('GET', path);
  if (res.status === 404) return undefined;
  if (res.status !== 200) throw new BoxError('ERR_BOX_API', apiError(`get ${path}`, res).message);
  return JSON.parse(res.body) as DeploymentJson;
}

async function listDnsPods(api: ApiClient): Promise<PodListJson['items']> {
  const res = await api.request(
    'GET',
    `/api/v1/namespaces/${CLUSTER_DNS_NAMESPACE}/pods?labelSelector=k8s-app%3Dkube-dns`,
  );
  if (res.status !== 200) throw new BoxError('ERR_BOX_API', apiError('list CoreDNS pods', res).message);
  return (JSON.parse(res.body) as PodListJson).items;
}

/** `coredns-7c…: node-1 Running, not ready (waiting: CrashLoopBackOff …)` per CoreDNS pod, for a timeout's message. */
async function podsSummary(api: ApiClient): Promise<string> {
  const pods = await listDnsPods(api).catch(() => undefined);
  if (pods === undefined) return 'pods unknown';
  if (pods.length === 0) return 'no CoreDNS pod yet';
  return pods
    .map((p) => {
      const c = p.status?.containerStatuses?.[0];
      const [state, detail] = Object.entries(c?.state ?? {})[0] ?? ['no container status', {}];
      const why = [detail.reason, detail.message].filter((s) => s !== undefined).join(' ');
      return (
        `${p.metadata.name}: ${p.spec?.nodeName ?? 'unscheduled'} ${p.status?.phase ?? '?'}, ` +
        `${c?.ready === true ? 'ready' : 'not ready'} (${state}${why ? `: ${why}` : ''})`
      );
    })
    .join('; ');
}

export interface ClusterDnsTiming {
  /** From the apply (which creates the Deployment) to Available. */
  readonly createToAvailableMs: number;
  /** From Available until every node's kube-proxy sends 10.96.0.10:53 to the CoreDNS pod. */
  readonly availableToProgrammedMs: number;
}

/**
 * True when `nat` (iptables-save of a node netns) DNATs UDP to each address's port 53, as kube-proxy writes it:
 * `-A KUBE-SEP-… -p udp -m comment --comment "kube-system/kube-dns:dns" -m udp -j DNAT --to-destination <ip>:53`.
 */
export function dnsProgrammed(nat: string, podIps: readonly string[]): boolean {
  const lines = nat.split('\n').filter((l) => l.startsWith('-A KUBE-SEP-') && l.includes(' -p udp '));
  return podIps.every((ip) => lines.some((l) => l.endsWith(`-j DNAT --to-destination ${ip}:53`)));
}

/**
 * Applies CLUSTER_DNS_MANIFEST, polls until the CoreDNS Deployment is Available, then until every node's kube-proxy
 * has its endpoint (Available alone leaves up to a kube-proxy sync, 1 s, in which a query is rejected); throws
 * `ERR_BOX_CLUSTER_DNS` after `timeoutMs`, saying where the Deployment and its pods are.
 */
export async function installClusterDns(
  cluster: Cluster,
  admin: ApiClient,
  network: BoxNetwork,
  timeoutMs: number,
): Promise<ClusterDnsTiming> {
  const t = performance.now();
  await cluster.applyManifests([CLUSTER_DNS_MANIFEST]);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const d = await readDeployment(admin, DEPLOYMENT_PATH);
    if (d !== undefined && deploymentAvailable(d)) break;
    if (Date.now() >= deadline) {
      throw new BoxError(
        'ERR_BOX_CLUSTER_DNS',
        `cluster DNS not Available within ${timeoutMs} ms: ${describeDeployment(d, CLUSTER_DNS_DEPLOYMENT)}; ` +
          `${await podsSummary(admin)} (see the kubelet logs in the box's logs/)`,
      );
    }
    await sleep(POLL_MS);
  }
  const available = performance.now();
  const podIps = (await listDnsPods(admin)).flatMap((p) => (p.status?.podIP ? [p.status.podIP] : []));
  for (const node of network.plan.nodes) {
    for (;;) {
      const nat = (await network.exec(node.name, ['iptables-save', '-t', 'nat'])).stdout;
      if (dnsProgrammed(nat, podIps)) break;
      if (Date.now() >= deadline) {
        throw new BoxError(
          'ERR_BOX_CLUSTER_DNS',
          `CoreDNS is Available but kube-proxy on ${node.name} does not send 10.96.0.10:53 to ` +
            `${podIps.join(', ')} within ${timeoutMs} ms (see logs/kube-proxy-${node.name}.log)`,
        );
      }
      await sleep(POLL_MS);
    }
  }
  return {
    createToAvailableMs: Math.round(available - t),
    availableToProgrammedMs: Math.round(performance.now() - available),
  };
}
