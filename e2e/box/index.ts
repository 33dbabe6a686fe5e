// The box's public API: start a cluster-in-a-box (network, real control plane on the underlay, nodes with the fake
// kubelet and a real kube-proxy each, a LoadBalancer allocator, CoreDNS) and stop it without a trace.
export {
  boxCatalogue,
  startBox,
  type Box,
  type BoxNode,
  type BoxPids,
  type ClusterDnsTiming,
  type NodeContext,
  type NodeHandle,
  type StartBoxOptions,
  type StartNode,
} from './box.ts';
export { BoxError, type BoxErrorCode } from './errors.ts';
export { kubeletLogPath, kubeletOptions, podNetnsPrefix, startKubeletNode } from './node-kubelet.ts';
export { CLUSTER_DNS_DEPLOYMENT, CLUSTER_DNS_MANIFEST, CLUSTER_DNS_NAMESPACE } from './cluster-dns.ts';
export {
  DEFAULT_BOX_NAME,
  DEFAULT_NODE_COUNT,
  KUBE_PROXY_HEALTHZ_PORT,
  KUBE_PROXY_METRICS_PORT,
  nodeName,
} from './plan.ts';
export { LB_POOL_FIRST, LB_POOL_LAST } from './lb-pool.ts';
export { KUBE_PROXY_IDENTITY } from './node-credentials.ts';
export { checkPrerequisites, missingPrerequisites, type HostFacts } from './prerequisites.ts';
export { reapLeftovers, type ReapSummary } from './reap.ts';
export type { StageTiming } from './stages.ts';
