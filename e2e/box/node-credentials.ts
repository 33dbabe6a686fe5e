// Mints each node's certificates (its kubelet's client and serving ones, its kube-proxy's) and writes the
// kubeconfigs.
import { mkdir, readFile } from 'node:fs/promises';
import {
  issueClientCert,
  issueServingCert,
  nodeIdentity,
  type CertAndKey,
  type ClientIdentity,
  type Cluster,
} from '../cluster/index.ts';
import { writeKubeconfig } from '../cluster/kubeconfig.ts';
import type { BoxNodeLayout } from './plan.ts';

/** The user kubeadm gives kube-proxy; the built-in ClusterRoleBinding `system:node-proxier` binds it. */
export const KUBE_PROXY_IDENTITY: ClientIdentity = { cn: 'system:kube-proxy' };

export interface NodeCredentials {
  /** `system:node:<name>` in `system:nodes`: the Node authorizer and NodeRestriction admit it for this node only. */
  readonly node: CertAndKey;
  readonly kubeProxy: CertAndKey;
  /**
   * The kubelet API's serving certificate: `system:node:<name>` for the node's name and InternalIP, as a kubelet's
   * serverTLSBootstrap certificate is; the apiserver checks it with --kubelet-certificate-authority (the cluster CA).
   */
  readonly kubeletServing: CertAndKey;
}

/** The cluster CA (certificate and key), read once per box. */
export async function readClusterCa(cluster: Cluster): Promise<CertAndKey> {
  const [certPem, keyPem] = await Promise.all([
    readFile(cluster.pki.caCert, 'utf8'),
    readFile(cluster.pki.caKey, 'utf8'),
  ]);
  return { certPem, keyPem };
}

/** Issues the certificates of `node` and writes `node.nodeKubeconfig` and `node.kubeProxyKubeconfig`. */
export async function writeNodeCredentials(
  cluster: Cluster,
  ca: CertAndKey,
  node: BoxNodeLayout,
): Promise<NodeCredentials> {
  await mkdir(node.dir, { recursive: true, mode: 0o700 });
  const identity = nodeIdentity(node.name);
  const [nodeCred, kubeProxy, kubeletServing] = await Promise.all([
    issueClientCert(ca, identity),
    issueClientCert(ca, KUBE_PROXY_IDENTITY),
    issueServingCert(ca, { cn: identity.cn, dnsNames: [node.name], ips: [node.ip] }),
  ]);
  const write = (path: string, user: string, cred: CertAndKey): Promise<void> =>
    writeKubeconfig(path, {
      name: cluster.name,
      user,
      server: cluster.server,
      caPem: ca.certPem,
      clientCertPem: cred.certPem,
      clientKeyPem: cred.keyPem,
    });
  await Promise.all([
    write(node.nodeKubeconfig, identity.cn, nodeCred),
    write(node.kubeProxyKubeconfig, KUBE_PROXY_IDENTITY.cn, kubeProxy),
  ]);
  return { node: nodeCred, kubeProxy, kubeletServing };
}
