// The operator as a process, the way a cluster runs it, on a cluster of its own (the test restarts its apiserver):
// install.yaml applied, the example Mesh applied with kubectl, `kubectl wait` for Ready, a waypoint through the CLI
// with --wait, an apiserver restart survived, SIGTERM handled with the lease released.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startCluster, type Cluster } from '@ambit/e2e/cluster';
import { X509Certificate } from 'node:crypto';
import * as pb from '@ambit/codegen/proto';
import { ConfigSubscription } from '@ambit/config';
import { CaClient } from '@ambit/ztunnel';
import { credentials } from '@grpc/grpc-js';
import {
  AppsV1Api,
  CoordinationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  type KubeConfig,
} from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, until } from '@ambit/e2e/testing';

const repo = join(import.meta.dirname, '..', '..');
const run = promisify(execFile);

interface OperatorProcess {
  readonly proc: ChildProcess;
  readonly port: number;
  readonly grpcPort: number;
  output(): string;
  metric(name: string): Promise<number>;
}

async function startOperatorProcess(kubeconfig: string, name: string): Promise<OperatorProcess> {
  const port = await freePort();
  const grpcPort = await freePort();
  const proc = spawn(process.execPath, [join(repo, 'operator/src/main.ts')], {
    env: {
      ...process.env,
      KUBECONFIG: kubeconfig,
      POD_NAME: name,
      POD_NAMESPACE: 'ambit-system',
      HTTP_PORT: String(port),
      GRPC_PORT: String(grpcPort),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  proc.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  proc.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  await until(`${name} /readyz`, async () => (await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200);
  return {
    proc,
    port,
    grpcPort,
    output: () => output,
    metric: async (metric) => {
      const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      return Number(
        text
          .split('\n')
          .find((l) => l.startsWith(metric))
          ?.split(' ')
          .pop(),
      );
    },
  };
}

describe('ambit-operator process', { timeout: 180_000 }, () => {
  let cluster: Cluster;
  let kc: KubeConfig;
  let first: OperatorProcess;
  let second: OperatorProcess;
  const kubectl = (...args: string[]) =>
    run('kubectl', ['--kubeconfig', cluster.kubeconfigPath, ...args], { encoding: 'utf8' });
  const ambit = (...args: string[]) =>
    run(
      process.execPath,
      [join(repo, 'operator/src/cli/main.ts'), ...args, '--kubeconfig', cluster.kubeconfigPath],
      {
        encoding: 'utf8',
      },
    );
  const ztunnelLogLevel = async () => {
    const ds = await kc
      .makeApiClient(AppsV1Api)
      .readNamespacedDaemonSet({ name: 'ztunnel', namespace: 'ambit-system' });
    return ds.spec?.template.spec?.containers[0]?.env?.find((e) => e.name === 'LOG_LEVEL')?.value;
  };

  beforeAll(async () => {
    cluster = await startCluster({ name: 'ambit-operator-process', controlPlane: 'full' });
    kc = cluster.kubeConfig();
    await cluster.applyManifests([join(repo, 'manifests/install.yaml')]);
    first = await startOperatorProcess(cluster.kubeconfigPath, 'operator-first');
    await until('the first replica leads', async () => (await first.metric('ambit_operator_leader')) === 1);
    second = await startOperatorProcess(cluster.kubeconfigPath, 'operator-second');
  });

  afterAll(async () => {
    for (const p of [first, second]) if (p?.proc.exitCode === null) p.proc.kill('SIGKILL');
    await cluster?.stop();
  });

  it('reconciles the example Mesh to Ready, as kubectl wait and kubectl get mesh show', async () => {
    await kubectl('apply', '-f', join(repo, 'manifests/examples/mesh.yaml'));
    await kubectl('wait', '--for=condition=Ready', 'mesh/default', '--timeout=60s');
    const { stdout } = await kubectl('get', 'mesh');
    expect(stdout).toMatch(/^default\s+True\s+False\s+0\/0\s+0\/0\s/m);
  });

  it('lets only the lease holder of two operator processes write', async () => {
    expect(await first.metric('ambit_operator_leader')).toBe(1);
    expect(await first.metric('ambit_operator_writes_total{op="apply"}')).toBeGreaterThan(0);
    expect(await second.metric('ambit_operator_leader')).toBe(0);
    expect(await second.metric('ambit_operator_writes_total{op="apply"}')).toBe(0);
  });

  it('provisions a waypoint applied with the CLI and reports enrollment on the Mesh', async () => {
    await kubectl('create', 'namespace', 'demo');
    await kubectl('label', 'namespace', 'demo', 'istio.io/dataplane-mode=ambient');
    const { stdout } = await ambit(
      'waypoint',
      'apply',
      '-n',
      'demo',
      '--enroll-namespace',
      '--wait',
      '--timeout',
      '60s',
    );
    expect(stdout).toContain('waypoint demo/waypoint is ready');
    await until('Mesh status counts the waypoint and the namespace', async () => {
      const m = (await kc.makeApiClient(CustomObjectsApi).getClusterCustomObject({
        group: 'ambit.dev',
        version: 'v1alpha1',
        plural: 'meshes',
        name: 'default',
      })) as {
        status?: { waypoints?: { total?: number }; enrolledNamespaces?: string[] };
      };
      return m.status?.waypoints?.total === 1 && m.status.enrolledNamespaces?.includes('demo');
    });
    // The waypoint's pod mounts the mesh root from its own namespace: the control plane copies the bundle there.
    const core = kc.makeApiClient(CoreV1Api);
    const bundle = async (namespace: string) =>
      (await core.readNamespacedConfigMap({ name: 'ambit-root-ca', namespace })).data?.['root-cert.pem'];
    await until('the trust bundle copied into demo', async () => {
      const copy = await bundle('demo');
      return copy !== undefined && copy === (await bundle('ambit-system'));
    });
  });

  it("writes where each user policy and route is enforced onto the object's status", async () => {
    await kubectl('create', 'service', 'clusterip', 'productpage', '--tcp=9080:9080', '-n', 'demo');
    const objects = kc.makeApiClient(CustomObjectsApi);
    await objects.createNamespacedCustomObject({
      group: 'security.istio.io',
      version: 'v1',
      plural: 'authorizationpolicies',
      namespace: 'demo',
      body: {
        apiVersion: 'security.istio.io/v1',
        kind: 'AuthorizationPolicy',
        metadata: { name: 'allow-sleep' },
        spec: {
          selector: { matchLabels: { app: 'productpage' } },
          rules: [{ from: [{ source: { principals: ['cluster.local/ns/demo/sa/sleep'] } }] }],
        },
      },
    });
    await objects.createNamespacedCustomObject({
      group: 'gateway.networking.k8s.io',
      version: 'v1',
      plural: 'httproutes',
      namespace: 'demo',
      body: {
        apiVersion: 'gateway.networking.k8s.io/v1',
        kind: 'HTTPRoute',
        metadata: { name: 'productpage' },
        spec: {
          parentRefs: [{ group: '', kind: 'Service', name: 'productpage', port: 9080 }],
          rules: [{ backendRefs: [{ name: 'productpage', port: 9080 }] }],
        },
      },
    });
    await until('the AuthorizationPolicy status', async () => {
      const ap = (await objects.getNamespacedCustomObject({
        group: 'security.istio.io',
        version: 'v1',
        plural: 'authorizationpolicies',
        namespace: 'demo',
        name: 'allow-sleep',
      })) as { status?: { conditions?: { type: string; status: string }[] } };
      return ap.status?.conditions?.some((c) => c.type === 'ZtunnelAccepted' && c.status === 'True');
    });
    const route = await until('the HTTPRoute status', async () => {
      const r = (await objects.getNamespacedCustomObject({
        group: 'gateway.networking.k8s.io',
        version: 'v1',
        plural: 'httproutes',
        namespace: 'demo',
        name: 'productpage',
      })) as {
        status?: { parents?: { controllerName: string; conditions: { type: string; status: string }[] }[] };
      };
      return r.status?.parents?.[0] && r;
    });
    expect(route.status?.parents?.[0]?.controllerName).toBe('ambit.dev/waypoint-controller');
    expect(route.status?.parents?.[0]?.conditions.find((c) => c.type === 'Accepted')?.status).toBe('True');
  });

  it('serves config and certificates over TLS to a ztunnel authenticated by its bound token', async () => {
    const core = kc.makeApiClient(CoreV1Api);
    const rootPem = await until('the published trust bundle', async () => {
      const cm = await core.readNamespacedConfigMap({ name: 'ambit-root-ca', namespace: 'ambit-system' });
      return cm.data?.['root-cert.pem'];
    });
    const runningPod = async (namespace: string, name: string, sa: string) => {
      const p = await core.createNamespacedPod({
        namespace,
        body: {
          metadata: { name },
          spec: { nodeName: 'node-1', serviceAccountName: sa, containers: [{ name: 'c', image: 'x' }] },
        },
      });
      await core.replaceNamespacedPodStatus({
        namespace,
        name,
        body: { ...p, status: { phase: 'Running', podIP: '10.244.9.9', podIPs: [{ ip: '10.244.9.9' }] } },
      });
      return p;
    };
    const zt = await runningPod('ambit-system', 'ztunnel-node-1', 'ztunnel');
    await kubectl('create', 'serviceaccount', 'sleep', '-n', 'demo');
    await runningPod('demo', 'sleep', 'sleep');
    const token = (
      await core.createNamespacedServiceAccountToken({
        namespace: 'ambit-system',
        name: 'ztunnel',
        body: {
          spec: {
            audiences: ['ambit.dev/control-plane'],
            boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: 'ztunnel-node-1', uid: zt.metadata?.uid },
          },
        },
      })
    ).status?.token;
    expect(token).toBeTruthy();
    const channel = credentials.createSsl(Buffer.from(rootPem));
    const options = { 'grpc.ssl_target_name_override': 'ambit-control-plane.ambit-system.svc' };
    const address = `127.0.0.1:${first.grpcPort}`;

    const subscribe = (node: string) =>
      new ConfigSubscription({
        client: new pb.ConfigDiscoveryServiceClient(address, channel, options),
        hello: { kind: pb.ProxyKind.PROXY_KIND_ZTUNNEL, node, waypoint: '', gateway: '', protocolVersion: 1 },
        token: () => Promise.resolve(token ?? ''),
        onUpdate: () => undefined,
        initialBackoffMs: 100,
      });
    const own = subscribe('node-1');
    const foreign = subscribe('node-2');
    own.start();
    foreign.start();
    try {
      await until('the config for node-1', () =>
        Promise.resolve(
          [...own.state.workloads.values()].some((w) => w.namespace === 'demo' && w.name === 'sleep'),
        ),
      );
      await new Promise((r) => setTimeout(r, 500));
      expect(foreign.state.version).toBe('');

      const ca = new CaClient({
        client: new pb.CertificateServiceClient(address, channel, options),
        token: () => Promise.resolve(token ?? ''),
      });
      const cert = await ca.fetch('spiffe://cluster.local/ns/demo/sa/sleep');
      expect(cert.trustBundlePem).toEqual([rootPem]);
      expect(new X509Certificate(cert.chainPem[0] ?? '').verify(new X509Certificate(rootPem).publicKey)).toBe(
        true,
      );
      await expect(ca.fetch('spiffe://cluster.local/ns/demo/sa/productpage')).rejects.toThrow(/node-1/);

      await until('the Mesh reports the served config version', async () => {
        const m = (await kc.makeApiClient(CustomObjectsApi).getClusterCustomObject({
          group: 'ambit.dev',
          version: 'v1alpha1',
          plural: 'meshes',
          name: 'default',
        })) as {
          status?: { config?: { version?: string } };
        };
        return (m.status?.config?.version ?? '') !== '';
      });
    } finally {
      own.stop();
      foreign.stop();
    }
  });

  it('keeps reconciling after the apiserver restarts, without a write storm', async () => {
    const before = await first.metric('ambit_operator_writes_total{op="apply"}');
    await cluster.restartApiserver();
    await kubectl(
      'patch',
      'mesh',
      'default',
      '--type=merge',
      '-p',
      '{"spec":{"ztunnel":{"logLevel":"debug"}}}',
    );
    await until('the change rolled after the restart', async () => (await ztunnelLogLevel()) === 'debug');
    // One changed DaemonSet; relists after the restart re-reconcile everything but write nothing unchanged.
    await new Promise((r) => setTimeout(r, 2_000));
    const writes = (await first.metric('ambit_operator_writes_total{op="apply"}')) - before;
    console.log(`apply writes across the apiserver restart and one spec change: ${writes}`);
    expect(writes).toBeGreaterThanOrEqual(1);
    expect(writes).toBeLessThanOrEqual(2);
    expect(await second.metric('ambit_operator_writes_total{op="apply"}')).toBe(0);
    const { stdout } = await kubectl(
      'get',
      'daemonsets,deployments,services,serviceaccounts',
      '-A',
      '-l',
      'app.kubernetes.io/managed-by=ambit-operator',
      '-o',
      'name',
    );
    expect(stdout.trim().split('\n').sort()).toEqual([
      'daemonset.apps/ambit-node-agent',
      'daemonset.apps/ztunnel',
      'deployment.apps/waypoint',
      'service/ambit-control-plane',
      'service/waypoint',
      'serviceaccount/ambit-node-agent',
      'serviceaccount/waypoint',
      'serviceaccount/ztunnel',
    ]);
  });

  it('hands over on SIGTERM: the leader exits cleanly and releases the lease, the other replica acts', async () => {
    const started = Date.now();
    first.proc.kill('SIGTERM');
    const [code] = (await once(first.proc, 'exit')) as [number | null];
    expect(code, first.output()).toBe(0);
    await until('the second replica leads', async () => (await second.metric('ambit_operator_leader')) === 1);
    console.log(`leadership handed over ${Date.now() - started} ms after SIGTERM`);
    await kubectl(
      'patch',
      'mesh',
      'default',
      '--type=merge',
      '-p',
      '{"spec":{"ztunnel":{"logLevel":"warn"}}}',
    );
    await until('the new leader rolls the change', async () => (await ztunnelLogLevel()) === 'warn');

    second.proc.kill('SIGTERM');
    expect(((await once(second.proc, 'exit')) as [number | null])[0], second.output()).toBe(0);
    const lease = await kc
      .makeApiClient(CoordinationV1Api)
      .readNamespacedLease({ name: 'ambit-operator', namespace: 'ambit-system' });
    expect(lease.spec?.holderIdentity ?? '').toBe('');
  });
});
