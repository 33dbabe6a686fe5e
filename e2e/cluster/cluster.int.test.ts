import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { ApiextensionsV1Api, CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { describe, expect, inject, it, vi } from 'vitest';
import { startCluster } from './cluster.ts';
import { findCrdFiles } from './crd-files.ts';
import { parseManifests } from './manifests.ts';

const execFileAsync = promisify(execFile);

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('the shared integration cluster', () => {
  const kubeconfigPath = inject('kubeconfigPath');
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfigPath);

  it('lists namespaces through client-node', async () => {
    const core = kc.makeApiClient(CoreV1Api);
    await vi.waitFor(async () => {
      const names = (await core.listNamespace()).items.map((n) => n.metadata?.name);
      expect(names).toEqual(expect.arrayContaining(['default', 'kube-system']));
    });
  });

  it('answers Debian kubectl as kubernetes v1.34.4', async () => {
    const { stdout } = await execFileAsync('kubectl', [
      '--kubeconfig',
      kubeconfigPath,
      'version',
      '-o',
      'json',
    ]);
    const version = JSON.parse(stdout) as { serverVersion?: { gitVersion?: string } };
    expect(version.serverVersion?.gitVersion).toBe('v1.34.4');
  });

  it('has every CRD from crds/ established', async () => {
    const ext = kc.makeApiClient(ApiextensionsV1Api);
    for (const file of await findCrdFiles()) {
      const crds = parseManifests(await readFile(file, 'utf8'), file).filter(
        (d) => d.object.kind === 'CustomResourceDefinition',
      );
      for (const { object } of crds) {
        const crd = await ext.readCustomResourceDefinition({ name: object.metadata.name });
        const established = crd.status?.conditions?.find((c) => c.type === 'Established');
        expect(established?.status, object.metadata.name).toBe('True');
      }
    }
  });
});

describe('a cluster of its own', () => {
  it('keeps data across an apiserver restart and leaves nothing behind on stop', async () => {
    const cluster = await startCluster({ name: 'restart-test' });
    const before = cluster.pids();
    try {
      const core = cluster.kubeConfig().makeApiClient(CoreV1Api);
      await core.createNamespacedConfigMap({
        namespace: 'default',
        body: { metadata: { name: 'survivor' }, data: { answer: '42' } },
      });

      await cluster.restartApiserver();
      expect(cluster.pids().etcd).toBe(before.etcd);
      expect(cluster.pids().apiserver).not.toBe(before.apiserver);
      expect(alive(before.apiserver)).toBe(false);

      const fresh = cluster.kubeConfig().makeApiClient(CoreV1Api);
      const cm = await fresh.readNamespacedConfigMap({ namespace: 'default', name: 'survivor' });
      expect(cm.data).toEqual({ answer: '42' });
    } finally {
      await cluster.stop();
    }
    const after = cluster.pids();
    for (const pid of [after.etcd, after.apiserver]) expect(alive(pid), `pid ${pid}`).toBe(false);
    expect(existsSync(cluster.workDir)).toBe(false);
    await expect(cluster.restartApiserver()).rejects.toMatchObject({ code: 'ERR_CLUSTER_STOPPED' });
  }, 180_000);
});
