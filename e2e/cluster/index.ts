// The cluster harness's public API: start a real control plane (etcd, kube-apiserver, kube-controller-manager,
// kube-scheduler) on loopback and mint certs for it.
export {
  startCluster,
  type Cluster,
  type ClusterPids,
  type ControlPlane,
  type StartClusterOptions,
} from './cluster.ts';
export { CLUSTER_CIDR, NODE_CIDR_MASK_SIZE } from './controller-manager.ts';
export { SERVICE_ACCOUNT_ISSUER, SERVICE_CLUSTER_IP_RANGE } from './apiserver.ts';
export { findCrdFiles, REPO_CRDS_DIR } from './crd-files.ts';
export { AMBIT_CACHE, AMBIT_K8S_BIN, AMBIT_KEEP_CLUSTER } from './env.ts';
export { ClusterError, type ClusterErrorCode } from './errors.ts';
export { FIELD_MANAGER } from './apply.ts';
export {
  ADMIN_IDENTITY,
  APISERVER_KUBELET_CLIENT_IDENTITY,
  CONTROLLER_MANAGER_IDENTITY,
  createCa,
  createClusterPki,
  createKeyPair,
  issueClientCert,
  issueServingCert,
  KUBERNETES_SERVICE_IP,
  nodeIdentity,
  SCHEDULER_IDENTITY,
  type CertAndKey,
  type ClientIdentity,
  type ClusterPki,
  type ClusterPkiOptions,
  type KeyPairPem,
  type ServingIdentity,
} from './pki.ts';
export type { PkiPaths } from './pki-files.ts';
