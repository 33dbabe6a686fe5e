// Writes a ClusterPki to a directory as the PEM files the control-plane flags point at.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ClusterPki } from './pki.ts';

export interface PkiPaths {
  readonly dir: string;
  readonly caCert: string;
  readonly caKey: string;
  readonly apiserverCert: string;
  readonly apiserverKey: string;
  readonly adminCert: string;
  readonly adminKey: string;
  readonly serviceAccountPublicKey: string;
  readonly serviceAccountPrivateKey: string;
  readonly apiserverKubeletClientCert: string;
  readonly apiserverKubeletClientKey: string;
  readonly frontProxyCaCert: string;
  readonly frontProxyClientCert: string;
  readonly frontProxyClientKey: string;
  readonly controllerManagerServingCert: string;
  readonly controllerManagerServingKey: string;
  readonly schedulerServingCert: string;
  readonly schedulerServingKey: string;
}

export function pkiPaths(dir: string): PkiPaths {
  return {
    dir,
    caCert: join(dir, 'ca.crt'),
    caKey: join(dir, 'ca.key'),
    apiserverCert: join(dir, 'apiserver.crt'),
    apiserverKey: join(dir, 'apiserver.key'),
    adminCert: join(dir, 'admin.crt'),
    adminKey: join(dir, 'admin.key'),
    serviceAccountPublicKey: join(dir, 'sa.pub'),
    serviceAccountPrivateKey: join(dir, 'sa.key'),
    apiserverKubeletClientCert: join(dir, 'apiserver-kubelet-client.crt'),
    apiserverKubeletClientKey: join(dir, 'apiserver-kubelet-client.key'),
    frontProxyCaCert: join(dir, 'front-proxy-ca.crt'),
    frontProxyClientCert: join(dir, 'front-proxy-client.crt'),
    frontProxyClientKey: join(dir, 'front-proxy-client.key'),
    controllerManagerServingCert: join(dir, 'kube-controller-manager.crt'),
    controllerManagerServingKey: join(dir, 'kube-controller-manager.key'),
    schedulerServingCert: join(dir, 'kube-scheduler.crt'),
    schedulerServingKey: join(dir, 'kube-scheduler.key'),
  };
}

/**
 * Writes the PEMs the component flags name (private keys 0600) and returns where they are. The controller-manager's
 * and scheduler's client certs live only in their kubeconfigs; the front-proxy CA key is not needed after issuing.
 */
export async function writePki(dir: string, pki: ClusterPki): Promise<PkiPaths> {
  const paths = pkiPaths(dir);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const files: [string, string, number][] = [
    [paths.caCert, pki.ca.certPem, 0o644],
    [paths.caKey, pki.ca.keyPem, 0o600],
    [paths.apiserverCert, pki.apiserver.certPem, 0o644],
    [paths.apiserverKey, pki.apiserver.keyPem, 0o600],
    [paths.adminCert, pki.admin.certPem, 0o644],
    [paths.adminKey, pki.admin.keyPem, 0o600],
    [paths.serviceAccountPublicKey, pki.serviceAccount.publicKeyPem, 0o644],
    [paths.serviceAccountPrivateKey, pki.serviceAccount.privateKeyPem, 0o600],
    [paths.apiserverKubeletClientCert, pki.apiserverKubeletClient.certPem, 0o644],
    [paths.apiserverKubeletClientKey, pki.apiserverKubeletClient.keyPem, 0o600],
    [paths.frontProxyCaCert, pki.frontProxyCa.certPem, 0o644],
    [paths.frontProxyClientCert, pki.frontProxyClient.certPem, 0o644],
    [paths.frontProxyClientKey, pki.frontProxyClient.keyPem, 0o600],
    [paths.controllerManagerServingCert, pki.controllerManagerServing.certPem, 0o644],
    [paths.controllerManagerServingKey, pki.controllerManagerServing.keyPem, 0o600],
    [paths.schedulerServingCert, pki.schedulerServing.certPem, 0o644],
    [paths.schedulerServingKey, pki.schedulerServing.keyPem, 0o600],
  ];
  await Promise.all(files.map(([path, pem, mode]) => writeFile(path, pem, { mode })));
  return paths;
}
