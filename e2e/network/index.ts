// The box network's public API: plan the simulated node network, create it on the host, reap it after a crash,
// and snapshot the host to prove that nothing is left behind.
export {
  CLUSTER_CIDR,
  HOST_UNDERLAY_IP,
  MAX_NODES,
  NODE_IP_OFFSET,
  SERVICE_CIDR,
  UNDERLAY_CIDR,
  nodeOf,
  planNetwork,
  withPodCidrs,
  type GuardPlan,
  type GuardRule,
  type NetworkPlan,
  type NodePlan,
  type PlanInput,
  type RoutePlan,
  type SysctlPlan,
} from './plan.ts';
export {
  commandsFor,
  DEFAULT_HOST_FACTS,
  routeCommands,
  teardownCommands,
  type HostFacts,
  type Step,
} from './commands.ts';
export { createNetwork, type BoxNetwork, type ExecOptions } from './network.ts';
export { reapNetwork, type ReapReport } from './reap.ts';
export { findBoxResources, type BoxResources } from './discover.ts';
export {
  diffSnapshots,
  snapshotHost,
  type HostSnapshot,
  type SnapshotDifference,
  type SnapshotSection,
} from './inventory.ts';
export { BOX_NAME, boxTag, NODE_NAME } from './names.ts';
export { CommandError, NetworkError, type NetworkErrorCode } from './errors.ts';
export type { BrNetfilterStatus } from './kernel.ts';
export type { RunResult } from './run.ts';
