// Builds kube-apiserver's command line (kubeadm's flags) and starts it, ready when `/readyz` answers 200.
import type { PkiPaths } from './pki-files.ts';
import { FRONT_PROXY_CLIENT_IDENTITY } from './pki.ts';
import type { ManagedProcess } from './process.ts';
import { launchReady } from './readiness.ts';
import type { ApiClient } from './rest.ts';

/** The in-cluster name of the apiserver, used as token issuer and audience. */
export const SERVICE_ACCOUNT_ISSUER = 'https://kubernetes.default.svc.cluster.local';
export const SERVICE_CLUSTER_IP_RANGE = '10.96.0.0/16';

export interface ApiserverOptions {
  readonly etcdUrl: string;
  /** Listen and advertise address (in the `kubernetes` Service's endpoints). @default '127.0.0.1' */
  readonly bindAddress?: string;
  readonly securePort: number;
  /** Scratch dir the apiserver may write generated certs to (it does not, since we pass ours). */
  readonly certDir: string;
  readonly pki: PkiPaths;
}

export function apiserverUrl(securePort: number, bindAddress = '127.0.0.1'): string {
  return `https://${bindAddress}:${securePort}`;
}

export function apiserverArgs(o: ApiserverOptions): string[] {
  const address = o.bindAddress ?? '127.0.0.1';
  return [
    `--etcd-servers=${o.etcdUrl}`,
    `--bind-address=${address}`,
    `--advertise-address=${address}`,
    `--secure-port=${o.securePort}`,
    `--cert-dir=${o.certDir}`,
    `--tls-cert-file=${o.pki.apiserverCert}`,
    `--tls-private-key-file=${o.pki.apiserverKey}`,
    `--client-ca-file=${o.pki.caCert}`,
    `--service-account-issuer=${SERVICE_ACCOUNT_ISSUER}`,
    `--service-account-key-file=${o.pki.serviceAccountPublicKey}`,
    `--service-account-signing-key-file=${o.pki.serviceAccountPrivateKey}`,
    `--api-audiences=${SERVICE_ACCOUNT_ISSUER}`,
    `--service-cluster-ip-range=${SERVICE_CLUSTER_IP_RANGE}`,
    '--authorization-mode=Node,RBAC',
    // Kubelets may then only touch their own Node and the pods bound to it, as on a kubeadm cluster.
    '--enable-admission-plugins=NodeRestriction',
    '--allow-privileged=true',
    // Towards kubelets (exec, logs, port-forward): our client cert, their serving certs checked against the CA,
    // dialled at the node's InternalIP (fake kubelets have no resolvable hostname).
    `--kubelet-client-certificate=${o.pki.apiserverKubeletClientCert}`,
    `--kubelet-client-key=${o.pki.apiserverKubeletClientKey}`,
    `--kubelet-certificate-authority=${o.pki.caCert}`,
    '--kubelet-preferred-address-types=InternalIP',
    // The aggregation layer, as kubeadm configures it: a separate front-proxy CA and client cert.
    `--proxy-client-cert-file=${o.pki.frontProxyClientCert}`,
    `--proxy-client-key-file=${o.pki.frontProxyClientKey}`,
    `--requestheader-client-ca-file=${o.pki.frontProxyCaCert}`,
    `--requestheader-allowed-names=${FRONT_PROXY_CLIENT_IDENTITY.cn}`,
    '--requestheader-extra-headers-prefix=X-Remote-Extra-',
    '--requestheader-group-headers=X-Remote-Group',
    '--requestheader-username-headers=X-Remote-User',
    // APF bootstraps its own objects and config workers at start; a test cluster has no load to shape.
    '--enable-priority-and-fairness=false',
    '--profiling=false',
  ];
}

export async function isReady(api: ApiClient): Promise<boolean> {
  const res = await api.request('GET', '/readyz', { timeoutMs: 5_000 });
  return res.status === 200;
}

/** Starts the apiserver and resolves once `/readyz` is 200; on failure the process is already stopped. */
export async function startApiserver(
  bin: string,
  opts: ApiserverOptions,
  logPath: string,
  api: ApiClient,
  timeoutMs = 60_000,
): Promise<ManagedProcess> {
  return launchReady(
    { name: 'kube-apiserver', bin, args: apiserverArgs(opts), logPath },
    { probe: () => isReady(api), timeoutMs, intervalMs: 250 },
  );
}
