// Builds a node's kube-proxy command line: iptables mode inside the node's netns, touching nothing host-wide.
import { CLUSTER_CIDR } from '../cluster/index.ts';
import { KUBE_PROXY_HEALTHZ_PORT, KUBE_PROXY_METRICS_PORT } from './plan.ts';

export interface KubeProxyArgsInput {
  /** Kubeconfig with the `system:kube-proxy` client cert. */
  readonly kubeconfig: string;
  /** The Node it serves (`--hostname-override`): the name the kubelet (or the box) registered. */
  readonly nodeName: string;
  /** The node's underlay address; kube-proxy listens there and takes it as the node IP. */
  readonly nodeIp: string;
}

/**
 * Flags, with why each one that is not kube-proxy's default is there:
 * 1. `--bind-address=<node IP>`: kube-proxy takes it as the node's primary IP instead of looking it up in the Node.
 * 2. healthz and metrics on the node IP: reachable from the host (readiness) and from pods, as on a real node.
 * 3. `--nodeport-addresses=primary`: NodePorts on the node IP only (kube-proxy warns about the "all local IPs"
 *    default), which also keeps it from setting route_localnet.
 * 4. `--conntrack-max-per-core=0`: never write nf_conntrack_max or the nf_conntrack hashsize module parameter,
 *    which are host-wide. (The TCP timeouts it sets are per netns: they change the node's netns only.)
 * 5. `--oom-score-adj=0`: kube-proxy defaults to -999, shielding itself from the OOM killer; a test box must not.
 * 6. `--bind-address-hard-fail`: exit rather than run without its health port, so a clash shows at start.
 */
export function kubeProxyArgs(i: KubeProxyArgsInput): string[] {
  return [
    `--kubeconfig=${i.kubeconfig}`,
    '--proxy-mode=iptables',
    `--hostname-override=${i.nodeName}`,
    `--cluster-cidr=${CLUSTER_CIDR}`,
    `--bind-address=${i.nodeIp}`,
    `--healthz-bind-address=${i.nodeIp}:${KUBE_PROXY_HEALTHZ_PORT}`,
    `--metrics-bind-address=${i.nodeIp}:${KUBE_PROXY_METRICS_PORT}`,
    '--nodeport-addresses=primary',
    '--conntrack-max-per-core=0',
    '--oom-score-adj=0',
    '--bind-address-hard-fail=true',
    '--profiling=false',
    // Logs each sync and what it changed: the first place to look when a Service does not answer.
    '--v=2',
  ];
}

/** The full argv: `ip netns exec` replaces itself with kube-proxy, so the process id is kube-proxy's own. */
export function kubeProxyArgv(bin: string, netns: string, i: KubeProxyArgsInput): string[] {
  return ['ip', 'netns', 'exec', netns, bin, ...kubeProxyArgs(i)];
}
