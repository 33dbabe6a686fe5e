// The cluster harness's public API: start a real etcd + kube-apiserver on loopback and mint certs for it.
export { startCluster, type Cluster, type StartClusterOptions } from './cluster.ts';
export { findCrdFiles, REPO_CRDS_DIR } from './crd-files.ts';
export { AMBIT_CACHE, AMBIT_K8S_BIN, AMBIT_KEEP_CLUSTER } from './env.ts';
export { ClusterError, type ClusterErrorCode } from './errors.ts';
export { FIELD_MANAGER } from './apply.ts';
export {
  ADMIN_IDENTITY,
  createCa,
  createClusterPki,
  createKeyPair,
  issueClientCert,
  issueServingCert,
  nodeIdentity,
  type CertAndKey,
  type ClientIdentity,
  type ClusterPki,
  type KeyPairPem,
  type ServingIdentity,
} from './pki.ts';
export type { PkiPaths } from './pki-files.ts';
