import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { ApiextensionsV1Api, CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { describe, expect, inject, it, vi } from 'vitest';
import { startCluster, type ClusterPids } from './cluster.ts';
import { findCrdFiles } from './crd-files.ts';
import { parseManifests } from './manifests.ts';

const execFileAsync = promisify(execFile);

const every = (p: ClusterPids): number[] => [p.etcd, p.apiserver, p.controllerManager, p.scheduler];

function alive(pid: number): boolean {
  if (pid <= 0) throw new Error(`not a process id: ${pid}`); // kill(-1, 0) would ask about every process
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
  it('binds another address, keeps data and controllers across an apiserver restart, leaves nothing on stop', async () => {
    // Any 127/8 address exists on the host; a later slice binds the underlay bridge's 172.30.0.1 the same way.
    const cluster = await startCluster({ name: 'restart-test', bindAddress: '127.0.0.2' });
    const before = cluster.pids();
    try {
      expect(cluster.server).toMatch(/^https:\/\/127\.0\.0\.2:\d+$/);
      expect(cluster.kubeConfig().getCurrentCluster()?.server).toBe(cluster.server);
      for (const pid of every(before)) expect(alive(pid), `pid ${pid}`).toBe(true);
      const core = cluster.kubeConfig().makeApiClient(CoreV1Api);
      await core.createNamespacedConfigMap({
        namespace: 'default',
        body: { metadata: { name: 'survivor' }, data: { answer: '42' } },
      });

      await cluster.restartApiserver();
      const after = cluster.pids();
      expect(after.etcd).toBe(before.etcd);
      expect(after.controllerManager).toBe(before.controllerManager);
      expect(after.scheduler).toBe(before.scheduler);
      expect(after.apiserver).not.toBe(before.apiserver);
      expect(alive(before.apiserver)).toBe(false);

      const fresh = cluster.kubeConfig().makeApiClient(CoreV1Api);
      const cm = await fresh.readNamespacedConfigMap({ namespace: 'default', name: 'survivor' });
      expect(cm.data).toEqual({ answer: '42' });
      // The controller-manager reconnected on its own (it dials the bind address through its kubeconfig).
      await fresh.createNamespace({ body: { metadata: { name: 'after-restart' } } });
      await vi.waitFor(
        () => fresh.readNamespacedServiceAccount({ namespace: 'after-restart', name: 'default' }),
        {
          timeout: 60_000,
          interval: 250,
        },
      );
    } finally {
      await cluster.stop();
    }
    for (const pid of [...every(before), cluster.pids().apiserver]) {
      expect(alive(pid), `pid ${pid}`).toBe(false);
    }
    expect(existsSync(cluster.workDir)).toBe(false);
    await expect(cluster.restartApiserver()).rejects.toMatchObject({ code: 'ERR_CLUSTER_STOPPED' });
  }, 180_000);

  it('runs just etcd and the apiserver when asked', async () => {
    const cluster = await startCluster({ name: 'apiserver-only', controlPlane: 'apiserver' });
    try {
      const pids = cluster.pids();
      expect(pids.controllerManager).toBe(-1);
      expect(pids.scheduler).toBe(-1);
      expect(alive(pids.apiserver)).toBe(true);
      const core = cluster.kubeConfig().makeApiClient(CoreV1Api);
      expect((await core.readNamespace({ name: 'default' })).metadata?.name).toBe('default');
    } finally {
      await cluster.stop();
    }
    expect(existsSync(cluster.workDir)).toBe(false);
  }, 120_000);

  it('refuses a bind address that is not an IPv4 address', async () => {
    await expect(startCluster({ bindAddress: 'localhost' })).rejects.toMatchObject({
      code: 'ERR_CLUSTER_INVALID_OPTION',
    });
  });
});
