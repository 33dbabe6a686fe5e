// Builds kube-apiserver's command line and starts it on loopback, ready when `/readyz` answers 200.
import { ClusterError } from './errors.ts';
import type { PkiPaths } from './pki-files.ts';
import { launch, type ManagedProcess } from './process.ts';
import { waitReady } from './readiness.ts';
import type { ApiClient } from './rest.ts';

/** The in-cluster name of the apiserver, used as token issuer and audience. */
export const SERVICE_ACCOUNT_ISSUER = 'https://kubernetes.default.svc.cluster.local';
export const SERVICE_CLUSTER_IP_RANGE = '10.96.0.0/16';

export interface ApiserverOptions {
  readonly etcdUrl: string;
  readonly securePort: number;
  /** Scratch dir the apiserver may write generated certs to (it does not, since we pass ours). */
  readonly certDir: string;
  readonly pki: PkiPaths;
}

export function apiserverUrl(securePort: number): string {
  return `https://127.0.0.1:${securePort}`;
}

export function apiserverArgs(o: ApiserverOptions): string[] {
  return [
    `--etcd-servers=${o.etcdUrl}`,
    '--bind-address=127.0.0.1',
    '--advertise-address=127.0.0.1',
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
    '--allow-privileged=true',
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
  const proc = await launch({ name: 'kube-apiserver', bin, args: apiserverArgs(opts), logPath });
  try {
    await waitReady(proc, { probe: () => isReady(api), timeoutMs, intervalMs: 250 });
    return proc;
  } catch (err) {
    await proc.stop();
    throw err instanceof ClusterError
      ? err
      : new ClusterError('ERR_CLUSTER_PROCESS_EXITED', 'kube-apiserver failed to start', { cause: err });
  }
}
