// `ambit config dump` on the real apiserver prints, as JSON, the records a node's ztunnel would receive.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';

const kubeconfigPath = inject('kubeconfigPath');
const kc = new KubeConfig();
kc.loadFromFile(kubeconfigPath);
const core = kc.makeApiClient(CoreV1Api);
const NS = 'dump-int';
const cli = join(import.meta.dirname, 'main.ts');

async function ambit(...args: string[]) {
  return promisify(execFile)(process.execPath, [cli, ...args], { encoding: 'utf8' });
}

describe('ambit config dump', { timeout: 60_000 }, () => {
  beforeAll(async () => {
    await core.createNamespace({
      body: { metadata: { name: NS, labels: { 'istio.io/dataplane-mode': 'ambient' } } },
    });
    const p = await core.createNamespacedPod({
      namespace: NS,
      body: {
        metadata: { name: 'web', labels: { app: 'web' } },
        spec: { nodeName: 'dump-node', containers: [{ name: 'c', image: 'x' }] },
      },
    });
    await core.replaceNamespacedPodStatus({
      name: 'web',
      namespace: NS,
      body: { ...p, status: { phase: 'Running', podIP: '10.244.88.4', podIPs: [{ ip: '10.244.88.4' }] } },
    });
  });
  afterAll(async () => {
    await core.deleteNamespace({ name: NS }).catch(() => undefined);
  });

  it("prints the node's view as JSON, with the enrolled pod as an HBONE workload", async () => {
    const { stdout } = await ambit('config', 'dump', '--node', 'dump-node', '--kubeconfig', kubeconfigPath);
    const dump = JSON.parse(stdout) as {
      workloads: { name: string; namespace: string; protocol: string; addresses: string[] }[];
    };
    expect(dump.workloads.find((w) => w.namespace === NS && w.name === 'web')).toMatchObject({
      protocol: 'HBONE',
      addresses: ['10.244.88.4'],
    });
  });

  it('explains its usage on a wrong command', async () => {
    await expect(ambit('config', 'dump')).rejects.toMatchObject({
      code: 2,
      stderr: expect.stringContaining('needs --node') as string,
    });
  });
});
