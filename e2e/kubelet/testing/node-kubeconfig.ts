// Test helper: a kubeconfig for `system:node:<name>` minted with the shared cluster's CA, for NodeRestriction.
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { stringify } from 'yaml';
import { issueClientCert, nodeIdentity } from '../../cluster/index.ts';

const b64 = (pem: string): string => Buffer.from(pem, 'utf8').toString('base64');

/**
 * Writes the node kubeconfig to `out` and returns true, or returns false when the CA key is not where
 * the cluster harness keeps it (`<cluster work dir>/pki/ca.key`, beside the admin kubeconfig); callers then fall
 * back to the admin kubeconfig.
 */
export async function writeNodeKubeconfig(
  adminKubeconfig: string,
  nodeName: string,
  out: string,
): Promise<boolean> {
  const pki = join(dirname(adminKubeconfig), 'pki');
  const caCert = join(pki, 'ca.crt');
  const caKey = join(pki, 'ca.key');
  if (!existsSync(caCert) || !existsSync(caKey)) return false;
  const ca = { certPem: await readFile(caCert, 'utf8'), keyPem: await readFile(caKey, 'utf8') };
  const client = await issueClientCert(ca, nodeIdentity(nodeName));
  const admin = new KubeConfig();
  admin.loadFromFile(adminKubeconfig);
  const server = admin.getCurrentCluster()?.server ?? '';
  const user = `system:node:${nodeName}`;
  await writeFile(
    out,
    stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'box', cluster: { server, 'certificate-authority-data': b64(ca.certPem) } }],
      users: [
        {
          name: user,
          user: { 'client-certificate-data': b64(client.certPem), 'client-key-data': b64(client.keyPem) },
        },
      ],
      contexts: [{ name: 'node', context: { cluster: 'box', user } }],
      'current-context': 'node',
    }),
    { mode: 0o600 },
  );
  return true;
}
