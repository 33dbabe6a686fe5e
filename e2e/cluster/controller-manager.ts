// Builds kube-controller-manager's command line (kubeadm's flags, plus node CIDR allocation) and starts it.
import { SERVICE_CLUSTER_IP_RANGE } from './apiserver.ts';
import { launchUntilHealthy, secureComponentArgs } from './healthz.ts';
import type { PkiPaths } from './pki-files.ts';
import type { ManagedProcess } from './process.ts';

/** The pod network; each node gets a /24 of it in `spec.podCIDR` (e2e/README.md's address plan). */
export const CLUSTER_CIDR = '10.244.0.0/16';
export const NODE_CIDR_MASK_SIZE = 24;
/** Client-side rate limits towards the apiserver (defaults 20/30): a test box has no other tenants to protect. */
const KUBE_API_QPS = 200;
const KUBE_API_BURST = 400;

export interface ControllerManagerOptions {
  /** Kubeconfig with the `system:kube-controller-manager` client cert; also used for delegated authn/authz. */
  readonly kubeconfig: string;
  /** Secure port (`/healthz`), bound to 127.0.0.1. */
  readonly securePort: number;
  readonly pki: PkiPaths;
  /** A dir in the work dir: the default, /usr/libexec/kubernetes/…, would be created on the host. */
  readonly flexVolumeDir: string;
}

export function controllerManagerArgs(o: ControllerManagerOptions): string[] {
  return [
    ...secureComponentArgs({
      kubeconfig: o.kubeconfig,
      securePort: o.securePort,
      servingCert: o.pki.controllerManagerServingCert,
      servingKey: o.pki.controllerManagerServingKey,
    }),
    `--client-ca-file=${o.pki.caCert}`,
    `--requestheader-client-ca-file=${o.pki.frontProxyCaCert}`,
    // Each controller runs as its own service account (kube-system/<controller>), so RBAC applies per controller.
    '--use-service-account-credentials=true',
    `--service-account-private-key-file=${o.pki.serviceAccountPrivateKey}`,
    `--root-ca-file=${o.pki.caCert}`,
    // CSRs (kubelet client and serving certs) are signed by the cluster CA.
    `--cluster-signing-cert-file=${o.pki.caCert}`,
    `--cluster-signing-key-file=${o.pki.caKey}`,
    '--allocate-node-cidrs=true',
    `--cluster-cidr=${CLUSTER_CIDR}`,
    `--node-cidr-mask-size=${NODE_CIDR_MASK_SIZE}`,
    `--service-cluster-ip-range=${SERVICE_CLUSTER_IP_RANGE}`,
    '--controllers=*,bootstrapsigner,tokencleaner',
    `--flex-volume-plugin-dir=${o.flexVolumeDir}`,
    // With per-controller credentials, starting each controller costs a few requests (get/create its service
    // account, request a token); at the default 20 qps that alone delays the first reconcile by seconds.
    `--kube-api-qps=${KUBE_API_QPS}`,
    `--kube-api-burst=${KUBE_API_BURST}`,
  ];
}

/** Starts the controller-manager and resolves once its `/healthz` is 200; on failure it is already stopped. */
export function startControllerManager(
  bin: string,
  opts: ControllerManagerOptions,
  logPath: string,
  caPem: string,
  timeoutMs = 60_000,
): Promise<ManagedProcess> {
  return launchUntilHealthy({
    name: 'kube-controller-manager',
    bin,
    args: controllerManagerArgs(opts),
    logPath,
    securePort: opts.securePort,
    caPem,
    timeoutMs,
  });
}
