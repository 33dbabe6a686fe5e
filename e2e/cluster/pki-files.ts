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
  };
}

/** Writes every PEM (private keys 0600) and returns where they are. */
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
  ];
  await Promise.all(files.map(([path, pem, mode]) => writeFile(path, pem, { mode })));
  return paths;
}
