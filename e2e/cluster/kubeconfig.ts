// Renders and writes kubeconfigs (the admin's, each component's) with the CA and client credentials embedded.
import { writeFile } from 'node:fs/promises';
import { stringify } from 'yaml';

export interface KubeconfigParams {
  /** Names the cluster and the context. */
  readonly name: string;
  /** Names the user entry. @default `${name}-admin` */
  readonly user?: string;
  /** https URL of the apiserver. */
  readonly server: string;
  readonly caPem: string;
  readonly clientCertPem: string;
  readonly clientKeyPem: string;
}

const b64 = (pem: string): string => Buffer.from(pem, 'utf8').toString('base64');

export function renderKubeconfig(p: KubeconfigParams): string {
  const user = p.user ?? `${p.name}-admin`;
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: p.name, cluster: { server: p.server, 'certificate-authority-data': b64(p.caPem) } }],
    users: [
      {
        name: user,
        user: { 'client-certificate-data': b64(p.clientCertPem), 'client-key-data': b64(p.clientKeyPem) },
      },
    ],
    contexts: [{ name: p.name, context: { cluster: p.name, user } }],
    'current-context': p.name,
    preferences: {},
  });
}

export async function writeKubeconfig(path: string, p: KubeconfigParams): Promise<void> {
  await writeFile(path, renderKubeconfig(p), { mode: 0o600 });
}
