// The box's public API: start a cluster-in-a-box (network, real control plane on the underlay, nodes with a real
// kube-proxy each, a LoadBalancer allocator) and stop it without a trace.
export {
  startBox,
  type Box,
  type BoxNode,
  type BoxPids,
  type NodeContext,
  type NodeHandle,
  type StartBoxOptions,
  type StartNode,
} from './box.ts';
export { BoxError, type BoxErrorCode } from './errors.ts';
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
