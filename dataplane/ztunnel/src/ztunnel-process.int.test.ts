// The secure overlay as a cluster runs it, every part a real process: the operator (config and CA over TLS, bound
// tokens checked by TokenReview), one node agent and one ztunnel per node (the agent finds enrolled pods in the
// apiserver, installs their rules and hands them over; the ztunnel subscribes, gets certificates and proxies), pods
// made by the CNI plugins. Then SIGTERM: the ztunnel lets the connection in flight finish and exits cleanly.
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { mkdir, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { join } from 'node:path';
import { ApiException, CoreV1Api, CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import { connectSocket, openListener } from '@ambit/native';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startTwoNodes, type TwoNodes } from './testing/two-nodes.ts';
import { freePort, until } from '@ambit/e2e/testing';

const repo = join(import.meta.dirname, '..', '..', '..');
const TAG = `azp${process.pid % 10000}`;
const NS = 'ztunnel-proc';
const APP_PORT = 8080;
const kc = new KubeConfig();
kc.loadFromFile(inject('kubeconfigPath'));
const core = kc.makeApiClient(CoreV1Api);
const custom = kc.makeApiClient(CustomObjectsApi);
const MESHES = { group: 'ambit.dev', version: 'v1alpha1', plural: 'meshes' };

interface Proc {
  readonly p: ChildProcess;
  output(): string;
}

function start(name: string, script: string, env: Record<string, string>): Proc {
  const p = spawn(process.execPath, [join(repo, script)], {
    env: { ...process.env, KUBECONFIG: inject('kubeconfigPath'), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  p.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  p.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  return { p, output: () => `--- ${name}\n${out}` };
}

async function runningPod(namespace: string, name: string, sa: string, node: string, ip?: string) {
  const p = await core.createNamespacedPod({
    namespace,
    body: {
      metadata: { name },
      spec: { nodeName: node, serviceAccountName: sa, containers: [{ name: 'c', image: 'x' }] },
    },
  });
  if (ip) await setRunning(namespace, name, ip);
  return p;
}

async function setRunning(namespace: string, name: string, ip: string) {
  const p = await core.readNamespacedPod({ namespace, name });
  await core.replaceNamespacedPodStatus({
    namespace,
    name,
    body: {
      ...p,
      status: {
        phase: 'Running',
        podIP: ip,
        podIPs: [{ ip }],
        conditions: [{ type: 'Ready', status: 'True' }],
      },
    },
  });
}

async function gone(read: () => Promise<unknown>): Promise<boolean> {
  try {
    await read();
    return false;
  } catch (err) {
    return err instanceof ApiException && err.code === 404;
  }
}

describe('ztunnel, node agent and operator as processes', { timeout: 240_000 }, () => {
  let t: TwoNodes;
  const procs: Proc[] = [];
  const servers: net.Server[] = [];
  let ztunnelA: Proc;
  const ports: Record<'a' | 'b', { admin: number; metrics: number; health: number }> = {
    a: { admin: 0, metrics: 0, health: 0 },
    b: { admin: 0, metrics: 0, health: 0 },
  };

  beforeAll(async () => {
    for (const name of ['ambit-system', NS]) {
      await core.createNamespace({
        body: { metadata: { name, labels: name === NS ? { 'istio.io/dataplane-mode': 'ambient' } : {} } },
      });
    }
    for (const sa of ['sleep', 'notsleep'])
      await core.createNamespacedServiceAccount({ namespace: NS, body: { metadata: { name: sa } } });
    const sleep = await runningPod(NS, 'sleep', 'sleep', 'node-a');
    const notsleep = await runningPod(NS, 'notsleep', 'notsleep', 'node-b');
    t = await startTwoNodes(
      TAG,
      [
        { name: 'sleep', node: 'a', enrolled: true, uid: sleep.metadata?.uid ?? '' },
        { name: 'notsleep', node: 'b', enrolled: true, uid: notsleep.metadata?.uid ?? '' },
      ],
      { inProcessZtunnels: false },
    );
    await setRunning(NS, 'sleep', t.podIp('sleep'));
    await setRunning(NS, 'notsleep', t.podIp('notsleep'));
    servers.push(
      net
        .createServer({ allowHalfOpen: true }, (s) => {
          const h = createHash('sha256');
          s.on('data', (d: Buffer) => h.update(d));
          s.on('end', () => s.end(h.digest('hex')));
          s.on('error', () => undefined);
        })
        .listen({
          fd: openListener({ netnsPath: t.netnsPath('notsleep'), host: '0.0.0.0', port: APP_PORT }),
        }),
    );

    await custom.createClusterCustomObject({
      ...MESHES,
      body: { apiVersion: 'ambit.dev/v1alpha1', kind: 'Mesh', metadata: { name: 'default' }, spec: {} },
    });
    const grpcPort = await freePort();
    procs.push(
      start('operator', 'operator/src/main.ts', {
        POD_NAME: 'operator-process-test',
        POD_NAMESPACE: 'ambit-system',
        HTTP_PORT: String(await freePort()),
        GRPC_PORT: String(grpcPort),
      }),
    );
    const rootPem = await until(
      'the trust bundle',
      async () =>
        (await core.readNamespacedConfigMap({ name: 'ambit-root-ca', namespace: 'ambit-system' })).data?.[
          'root-cert.pem'
        ],
    );

    // The Mesh's ServiceAccounts come from the operator's first reconcile, which may finish after the bundle.
    await until('the ztunnel service account', () =>
      core.readNamespacedServiceAccount({ name: 'ztunnel', namespace: 'ambit-system' }),
    );
    for (const node of ['a', 'b'] as const) {
      const zt = await runningPod(
        'ambit-system',
        `ztunnel-node-${node}`,
        'ztunnel',
        `node-${node}`,
        `172.31.250.${node === 'a' ? 1 : 2}`,
      );
      const token = (
        await core.createNamespacedServiceAccountToken({
          namespace: 'ambit-system',
          name: 'ztunnel',
          body: {
            spec: {
              audiences: ['ambit.dev/control-plane'],
              boundObjectRef: {
                apiVersion: 'v1',
                kind: 'Pod',
                name: zt.metadata?.name,
                uid: zt.metadata?.uid,
              },
            },
          },
        })
      ).status?.token;
      const dir = join(t.work, `node-${node}`);
      await mkdir(join(dir, 'credentials'), { recursive: true });
      await writeFile(join(dir, 'credentials', 'token'), token ?? '');
      await writeFile(join(dir, 'credentials', 'root-cert.pem'), rootPem);
      ports[node] = { admin: await freePort(), metrics: await freePort(), health: await freePort() };
      procs.push(
        start(`node-agent-${node}`, 'dataplane/node-agent/src/main.ts', {
          NODE_NAME: `node-${node}`,
          HANDOVER_SOCKET: join(dir, 'ztunnel.sock'),
          CNI_EVENT_SOCKET: join(dir, 'cni.sock'),
          NETNS_PREFIX: `${TAG}p`,
          HEALTH_PORT: String(await freePort()),
        }),
      );
      const z = start(`ztunnel-${node}`, 'dataplane/ztunnel/src/main.ts', {
        NODE_NAME: `node-${node}`,
        CONTROL_PLANE_ADDRESS: `127.0.0.1:${grpcPort}`,
        CONTROL_PLANE_TLS_NAME: 'ambit-control-plane.ambit-system.svc',
        HANDOVER_SOCKET: join(dir, 'ztunnel.sock'),
        CREDENTIALS_DIR: join(dir, 'credentials'),
        ADMIN_PORT: String(ports[node].admin),
        METRICS_PORT: String(ports[node].metrics),
        HEALTH_PORT: String(ports[node].health),
        DRAIN_SECONDS: '20',
      });
      procs.push(z);
      if (node === 'a') ztunnelA = z;
    }
  });

  afterAll(async () => {
    const failed = procs.map((p) => p.output()).join('\n');
    for (const s of servers) s.close();
    for (const p of procs.slice(1)) if (p.p.exitCode === null) p.p.kill('SIGKILL');
    await custom.deleteClusterCustomObject({ ...MESHES, name: 'default' }).catch(() => undefined);
    await until(
      'Mesh gone',
      () => gone(() => custom.getClusterCustomObject({ ...MESHES, name: 'default' })),
      30_000,
    ).catch(() => console.log(failed));
    procs[0]?.p.kill('SIGKILL');
    // No kubelet confirms these pods' deletion: delete them at once so the namespaces can go.
    for (const name of ['ambit-system', NS]) {
      await core
        .deleteCollectionNamespacedPod({ namespace: name, gracePeriodSeconds: 0 })
        .catch(() => undefined);
      await core.deleteNamespace({ name }).catch(() => undefined);
    }
    await until(
      'namespaces gone',
      async () =>
        (await gone(() => core.readNamespace({ name: 'ambit-system' }))) &&
        (await gone(() => core.readNamespace({ name: NS }))),
      60_000,
    );
    await t?.close();
  });

  it('becomes ready once it has config and the node agent snapshot, and carries traffic over HBONE', async () => {
    for (const node of ['a', 'b'] as const) {
      await until(
        `ztunnel-${node} ready`,
        async () => (await fetch(`http://127.0.0.1:${ports[node].health}/healthz/ready`)).ok,
        60_000,
      ).catch((err: unknown) => {
        console.log(procs.map((p) => p.output()).join('\n'));
        throw err;
      });
    }
    // Ready means the agent's first snapshot arrived, and the agent sends it only after a pass over its pods.
    const dump = (await (await fetch(`http://127.0.0.1:${ports.b.admin}/config_dump`)).json()) as {
      pods: { name: string }[];
    };
    if (dump.pods.length === 0) console.log(procs.map((p) => p.output()).join('\n'));
    expect(dump.pods.map((p) => p.name)).toEqual(['notsleep']);

    const s = await connectSocket({
      netnsPath: t.netnsPath('sleep'),
      host: t.podIp('notsleep'),
      port: APP_PORT,
      allowHalfOpen: true,
    });
    const chunks: Buffer[] = [];
    s.on('data', (d: Buffer) => chunks.push(d));
    s.end('through the processes');
    await once(s, 'end');
    expect(Buffer.concat(chunks).toString()).toBe(
      createHash('sha256').update('through the processes').digest('hex'),
    );
    const metrics = await (await fetch(`http://127.0.0.1:${ports.b.metrics}/metrics`)).text();
    expect(metrics).toMatch(
      /istio_tcp_connections_opened_total\{reporter="destination",source_workload="sleep".*connection_security_policy="mutual_tls"\} 1/,
    );
  });

  it('drains on SIGTERM: the connection in flight finishes, then the process exits 0', async () => {
    const s = await connectSocket({
      netnsPath: t.netnsPath('sleep'),
      host: t.podIp('notsleep'),
      port: APP_PORT,
      allowHalfOpen: true,
    });
    const chunks: Buffer[] = [];
    s.on('data', (d: Buffer) => chunks.push(d));
    s.write('first half, ');
    await new Promise((r) => setTimeout(r, 300));
    // Listened for before the signal: the process may be gone by the time the connection has finished.
    const exited = once(ztunnelA.p, 'exit') as Promise<[number | null]>;
    ztunnelA.p.kill('SIGTERM');
    await until('the drain started', () => Promise.resolve(ztunnelA.output().includes('SIGTERM: draining')));
    s.end('second half');
    await once(s, 'end');
    expect(Buffer.concat(chunks).toString()).toBe(
      createHash('sha256').update('first half, second half').digest('hex'),
    );
    const [code] = await exited;
    expect(code, ztunnelA.output()).toBe(0);
  });

  it('deleting the Mesh removes the CA root and the trust bundle with everything else the operator made', async () => {
    await custom.deleteClusterCustomObject({ ...MESHES, name: 'default' });
    await until('Mesh gone', () => gone(() => custom.getClusterCustomObject({ ...MESHES, name: 'default' })));
    await until(
      'the root Secret and trust bundle collected',
      async () =>
        (await gone(() => core.readNamespacedSecret({ name: 'ambit-ca-root', namespace: 'ambit-system' }))) &&
        (await gone(() =>
          core.readNamespacedConfigMap({ name: 'ambit-root-ca', namespace: 'ambit-system' }),
        )),
      60_000,
    );
  });
});
