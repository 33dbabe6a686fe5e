// The fake kubelet: its controller (Node, Lease, pods from the API), its runtime (sandboxes, volumes, env,
// containers, probes) and the image catalogue.
export { startKubelet, type Kubelet, type KubeletOptions } from './kubelet.ts';
export {
  kubeletServerArgv,
  kubeletServerFiles,
  startKubeletServer,
  type KubeletServer,
  type KubeletServerOptions,
} from './kubelet-server.ts';
export {
  answerRuntimeRequest,
  serveRuntimeSocket,
  type RuntimeAnswer,
  type RuntimeContainer,
  type RuntimeLog,
  type RuntimePod,
  type RuntimeView,
} from './runtime-socket.ts';
export { chooseLogRun, type LogPodStatus, type LogRunChoice } from './log-selection.ts';
export {
  ImageCatalogue,
  containerArgv,
  coredns,
  defaultCatalogue,
  nodeProgram,
  parseImageRef,
  pinnedNode,
  shellImageProgram,
  type CatalogueEntry,
  type ImageProgram,
  type ImageRef,
  type ResolvedImage,
} from './catalogue/index.ts';
export {
  CONTAINER_RUNTIME_VERSION,
  DEFAULT_CAPACITY,
  KUBELET_PORT,
  KUBELET_VERSION,
  NODE_LEASE_NAMESPACE,
} from './node-object.ts';
export type { NodeStatusTiming } from './node-status.ts';
export { CRASH_BACKOFF, PULL_BACKOFF, RETRY_BACKOFF, type BackoffPolicy } from './backoff.ts';
export { KubeletError, CniError, KubeApiError, type KubeletErrorCode } from './errors.ts';
export type { ContainerMount, EnvVar, PodRef } from './types.ts';
export {
  CNI_VERSION,
  DEFAULT_CNI_PATH,
  POD_IFNAME,
  conflistFileName,
  parseConflist,
  pickConflistFile,
  podConflist,
  type CniConflist,
  type CniNodeView,
  type CniPluginConf,
  type CniResult,
  type PodConflistOptions,
} from './cni-config.ts';
export {
  cniAdd,
  cniDel,
  loadConflist,
  readCniCache,
  writeConflist,
  type CniAttachment,
  type CniRuntime,
} from './cni.ts';
export { CLUSTER_DNS, CLUSTER_DOMAIN, podNetnsName } from './sandbox-plan.ts';
export {
  createSandbox,
  removeSandbox,
  type CreateSandboxOptions,
  type Sandbox,
  type SandboxPod,
} from './sandbox.ts';
export { hostPathOnMachine, planVolumes, type PlannedMount, type VolumeLayout } from './volume-plan.ts';
export {
  materializeVolumes,
  removeVolumes,
  type MaterializeOptions,
  type TokenRequester,
  type VolumeSources,
} from './volumes.ts';
export {
  SERVICE_ACCOUNT_MOUNT_PATH,
  ROOT_CA_CONFIGMAP,
  kubeApiAccessVolume,
  kubeApiAccessMount,
  withKubeApiAccess,
} from './service-account.ts';
export type { PodFacts } from './fieldpath.ts';
export { rfc3339Nano, CriLogWriter } from './cri-log.ts';
export { resolveEnv, expandCommand, serviceEnvVars, type EnvFacts } from './env.ts';
export { planContainerStart, podLogPath, type ContainerStartInput } from './container-plan.ts';
export {
  DEFAULT_PATH,
  startContainer,
  type ContainerExit,
  type ContainerHandle,
  type ExecResult,
  type StartContainerOptions,
} from './container.ts';
export { NodeProber, ensureProbeSource, PROBE_SOURCE_ADDRESS } from './prober.ts';
export {
  ContainerProbes,
  ProbeWorker,
  REAL_CLOCK,
  probeRunner,
  resolvePort,
  type ProbeClock,
  type ContainerProbeStatus,
  type ProbeEvent,
  type ProbeTarget,
} from './probes.ts';
export type { ProbeKind, ProbeOutcome, ProbeResult } from './probe-state.ts';
