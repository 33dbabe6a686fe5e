import { KubeConfig } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { renderKubeconfig } from './kubeconfig.ts';

const params = {
  name: 'c1',
  server: 'https://127.0.0.1:6443',
  caPem: '-----BEGIN CERTIFICATE-----\nCA\n-----END CERTIFICATE-----\n',
  clientCertPem: '-----BEGIN CERTIFICATE-----\nCERT\n-----END CERTIFICATE-----\n',
  clientKeyPem: '-----BEGIN PRIVATE KEY-----\nKEY\n-----END PRIVATE KEY-----\n',
};

describe('renderKubeconfig', () => {
  it('embeds the credentials as base64 data fields', () => {
    const doc = parse(renderKubeconfig(params)) as {
      clusters: { cluster: Record<string, string> }[];
      users: { user: Record<string, string> }[];
    };
    const b64 = (s: string) => Buffer.from(s).toString('base64');
    expect(doc.clusters[0]?.cluster['certificate-authority-data']).toBe(b64(params.caPem));
    expect(doc.users[0]?.user['client-certificate-data']).toBe(b64(params.clientCertPem));
    expect(doc.users[0]?.user['client-key-data']).toBe(b64(params.clientKeyPem));
  });

  it('loads in client-node with the current context set', () => {
    const kc = new KubeConfig();
    kc.loadFromString(renderKubeconfig(params));
    expect(kc.getCurrentContext()).toBe('c1');
    expect(kc.getCurrentCluster()?.server).toBe('https://127.0.0.1:6443');
    expect(kc.getCurrentCluster()?.caData).toBe(Buffer.from(params.caPem).toString('base64'));
    expect(kc.getCurrentUser()?.name).toBe('c1-admin');
  });

  it('names the user after a component when given', () => {
    const kc = new KubeConfig();
    kc.loadFromString(renderKubeconfig({ ...params, user: 'system:kube-scheduler' }));
    expect(kc.getCurrentUser()?.name).toBe('system:kube-scheduler');
    expect(kc.getCurrentContext()).toBe('c1');
  });
});
