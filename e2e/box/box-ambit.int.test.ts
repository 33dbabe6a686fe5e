// Ambit installed into a 2-node box as a user would (kubectl, manifests/, the example Mesh), every Ambit component a
// pod that the fake kubelets run from the image catalogue. A namespace whose pods already run is enrolled: a curl
// pod on node-0 reaches an HTTP echo on node-1 through its Service over HBONE (the destination ztunnel's metrics,
// read through kubectl port-forward, name the client's SPIFFE principal with mutual_tls; a capture on node-0's
// underlay link sees 15008 and no plaintext to the echo port), and no pod restarted. Deleting the Mesh removes what
// Ambit made from the API and the nodes' CNI chain; stop() leaves the host as it found it. Enrolled pods stay in the
// mesh across a node agent restart. One node agent gap is recorded as an expected failure (`it.fails`): enrolled
// pods after the Mesh is gone.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { CoreV1Api, type KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { snapshotHost, type HostSnapshot } from '../network/index.ts';
import { AMBIT_NAMESPACE } from './ambit-install.ts';
import { startBox, type Box } from './box.ts';
import { kubectl, kubectlOk } from './kubectl.ts';
import { NODE_CNI_BIN_DIR, NODE_CNI_CONF_DIR } from './node-kubelet.ts';
import { reapLeftovers } from './reap.ts';
import { boxDifferences } from './testing/host-diff.ts';
import { processesMentioning } from './testing/processes.ts';
import { until } from '../testing/index.ts';

/** A fixed name, so that a run that died is reaped by the next one (beforeAll). */
const BOX = 'aambit';
const NS = 'ambient-demo';
const CLIENT_NODE = 'node-0';
const SERVER_NODE = 'node-1';
const ECHO_PORT = 8080;
const isRoot = process.getuid?.() === 0;

/** Entry point each Ambit pod's container must be running (the catalogue's programs for Ambit's images). */
const ENTRY_POINTS: Record<string, string> = {
  'ambit-operator': 'operator/src/main.ts',
  ztunnel: 'dataplane/ztunnel/src/main.ts',
  'ambit-node-agent': 'catalogue/programs/ambit-node-agent.ts',
};

const APPS = [
  { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } },
  { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'curl', namespace: NS } },
  { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'echo', namespace: NS } },
  {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'curl', namespace: NS, labels: { app: 'curl' } },
    spec: {
      nodeName: CLIENT_NODE,
      serviceAccountName: 'curl',
      terminationGracePeriodSeconds: 1,
      containers: [{ name: 'curl', image: 'curlimages/curl', command: ['sleep', 'infinity'] }],
    },
  },
  {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'echo', namespace: NS, labels: { app: 'echo' } },
    spec: {
      nodeName: SERVER_NODE,
      serviceAccountName: 'echo',
      terminationGracePeriodSeconds: 1,
      containers: [
        {
          name: 'echo',
          image: 'ambit/echo-http',
          ports: [{ containerPort: ECHO_PORT }],
          readinessProbe: { httpGet: { path: '/', port: ECHO_PORT }, periodSeconds: 2 },
        },
      ],
    },
  },
  {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'echo', namespace: NS },
    spec: { selector: { app: 'echo' }, ports: [{ name: 'http', port: 80, targetPort: ECHO_PORT }] },
  },
];

function isReady(pod: V1Pod): boolean {
  return pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

/** What proves a pod was not restarted: its uid, and per container its id and restart count. */
function identity(pod: V1Pod): Record<string, unknown> {
  return {
    uid: pod.metadata?.uid,
    containers: (pod.status?.containerStatuses ?? []).map((c) => ({
      name: c.name,
      containerID: c.containerID,
      restartCount: c.restartCount,
    })),
  };
}

/** The destination-side connection counter of the ztunnel metrics for connections from `principal`. */
function connectionsFrom(metrics: string, principal: string): number {
  let total = 0;
  for (const line of metrics.split('\n')) {
    if (!line.startsWith('istio_tcp_connections_opened_total{')) continue;
    if (!line.includes('reporter="destination"')) continue;
    if (!line.includes(`source_principal="${principal}"`)) continue;
    if (!line.includes('connection_security_policy="mutual_tls"')) continue;
    total += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return total;
}

describe.skipIf(!isRoot)('Ambit installed into a 2-node box, its components run as pods', () => {
  let before: HostSnapshot;
  let runAmbitBefore = false;
  let box: Box | undefined;
  let kc: KubeConfig;
  let kubeconfig = '';
  const children: ChildProcess[] = [];
  const measured: Record<string, unknown> = {};

  const core = (): CoreV1Api => kc.makeApiClient(CoreV1Api);
  const pod = (name: string): Promise<V1Pod> => core().readNamespacedPod({ namespace: NS, name });
  const node = (name: string) => {
    const n = box?.nodes.find((x) => x.name === name);
    if (n === undefined) throw new Error(`no node ${name}`);
    return n;
  };
  /** `kubectl exec curl -- curl …` from the client pod: what a person types. */
  const curlEcho = () =>
    kubectl(kubeconfig, ['-n', NS, 'exec', 'curl', '--', 'curl', '-sS', '-m', '5', 'http://echo/'], {
      timeoutMs: 20_000,
    });

  /** Captures TCP to the echo port and HBONE on node-0's underlay link while `during` runs. */
  async function capture(during: () => Promise<unknown>): Promise<string> {
    const netns = node(CLIENT_NODE).netns;
    const child = spawn(
      'ip',
      [
        'netns',
        'exec',
        netns,
        'tcpdump',
        '-i',
        'eth0',
        '-nn',
        '-l',
        '-A',
        '-s',
        '512',
        `tcp port ${ECHO_PORT} or tcp port 15008`,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    children.push(child);
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString('latin1')));
    const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));
    await new Promise<void>((resolve, reject) => {
      const lines = createInterface({ input: child.stderr });
      lines.on('line', (l) => {
        if (l.includes('listening on')) resolve();
      });
      child.once('close', (code) => reject(new Error(`tcpdump exited ${String(code)} before listening`)));
    });
    await during();
    await new Promise((r) => setTimeout(r, 300));
    child.kill('SIGINT');
    await closed;
    return out;
  }

  /** `kubectl port-forward` to a pod's port; resolves with the local port once kubectl says it forwards. */
  async function portForward(namespace: string, podName: string, port: number): Promise<number> {
    const child = spawn(
      'kubectl',
      ['--kubeconfig', kubeconfig, '-n', namespace, 'port-forward', `pod/${podName}`, `:${port}`],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    children.push(child);
    return new Promise<number>((resolve, reject) => {
      const lines = createInterface({ input: child.stdout });
      lines.on('line', (l) => {
        const m = /^Forwarding from 127\.0\.0\.1:(\d+) ->/.exec(l);
        if (m) resolve(Number(m[1]));
      });
      child.once('close', (code) => reject(new Error(`kubectl port-forward exited ${String(code)}`)));
    });
  }

  beforeAll(async () => {
    await reapLeftovers(BOX);
    before = await snapshotHost();
    runAmbitBefore = existsSync('/run/ambit');
    const t = performance.now();
    box = await startBox({
      name: BOX,
      nodes: 2,
      ambit: true,
      onProgress: (line) => console.info(`[box] ${line}`),
    });
    measured.startMs = Math.round(performance.now() - t);
    measured.stagesMs = Object.fromEntries(box.timings.map((s) => [s.stage, Math.round(s.ms)]));
    measured.ambitMs = box.ambit && {
      apply: Math.round(box.ambit.applyMs),
      operatorAvailable: Math.round(box.ambit.operatorAvailableMs),
      meshReady: Math.round(box.ambit.meshReadyMs),
    };
    kc = box.cluster.kubeConfig();
    kubeconfig = box.kubeconfigPath;
  }, 420_000);

  afterAll(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    try {
      await box?.stop();
    } finally {
      await reapLeftovers(BOX);
      console.info(`box-ambit measurements: ${JSON.stringify(measured)}`);
    }
  }, 120_000);

  it('runs the operator, a ztunnel and a node agent per node as pods from the catalogue, the plugin chained in', async () => {
    if (box === undefined) throw new Error('no box');
    const mesh = await kubectlOk(kubeconfig, ['get', 'mesh', 'default', '--no-headers']);
    expect(mesh).toMatch(/^default\s+True\s+False\s+2\/2\s/);
    const pods = (await core().listNamespacedPod({ namespace: AMBIT_NAMESPACE })).items;
    const byApp = (app: string) => pods.filter((p) => p.metadata?.labels?.['app.kubernetes.io/name'] === app);
    expect(byApp('ambit-operator')).toHaveLength(2);
    for (const app of ['ztunnel', 'ambit-node-agent']) {
      expect(
        byApp(app)
          .map((p) => p.spec?.nodeName)
          .sort(),
      ).toEqual(['node-0', 'node-1']);
    }
    // Not asserted: a ztunnel that starts before the CA has published ambit-root-ca exits and is restarted.
    measured.ambitRestarts = Object.fromEntries(
      pods.map((p) => [p.metadata?.name ?? '', p.status?.containerStatuses?.[0]?.restartCount ?? -1]),
    );
    for (const p of pods) {
      expect(isReady(p), p.metadata?.name).toBe(true);
      const app = p.metadata?.labels?.['app.kubernetes.io/name'] ?? '';
      const container = p.spec?.containers[0]?.name ?? '';
      const handle = box.kubelets
        .get(p.spec?.nodeName ?? '')
        ?.container(AMBIT_NAMESPACE, p.metadata?.name ?? '', container);
      if (handle === undefined) throw new Error(`no container for ${p.metadata?.name}`);
      const argv = (await readFile(`/proc/${handle.pid}/cmdline`, 'utf8')).split('\0');
      expect(argv.join(' ')).toContain(ENTRY_POINTS[app]);
      expect(p.spec?.containers[0]?.image).toMatch(/^ghcr\.io\/ambit-mesh\//);
    }
    for (const n of box.nodes) {
      const dir = join(n.root, NODE_CNI_CONF_DIR);
      const [file] = (await readdir(dir)).filter((f) => f.endsWith('.conflist')).sort();
      const list = JSON.parse(await readFile(join(dir, file ?? ''), 'utf8')) as {
        plugins: { type: string; eventSocket?: string }[];
      };
      expect(list.plugins.map((p) => p.type)).toEqual(['loopback', 'bridge', 'ambit-cni']);
      expect(list.plugins[2]?.eventSocket).toBe('/var/run/ambit/cni.sock');
      expect(existsSync(join(n.root, NODE_CNI_BIN_DIR, 'ambit-cni'))).toBe(true);
      // The node agent's socket, in the node's own /var/run/ambit (hostPath), which its ztunnel shares.
      expect(existsSync(join(n.root, 'var/run/ambit/ztunnel.sock'))).toBe(true);
    }
  });

  it('carries curl → echo across nodes over HBONE once the running namespace is enrolled, restarting no pod', async () => {
    for (const doc of APPS) await kubectlOk(kubeconfig, ['apply', '-f', '-'], { input: JSON.stringify(doc) });
    const ready = await until<V1Pod[]>(
      'curl and echo Ready',
      async () => {
        const ps = await Promise.all([pod('curl'), pod('echo')]);
        return ps.every(isReady) && ps;
      },
      60_000,
    );
    const clientIp = ready[0]?.status?.podIP ?? '';
    // Plain first (kube-proxy's rules reach the new endpoint within its sync period): the echo sees the client.
    const plain = await until(
      'a plaintext request through the Service',
      async () => {
        const r = await curlEcho();
        return r.code === 0 && (JSON.parse(r.stdout) as { source: { address: string } });
      },
      30_000,
    );
    expect(plain.source.address).toBe(clientIp);
    const plainWire = await capture(curlEcho);
    expect(plainWire).toMatch(new RegExp(`\\.${ECHO_PORT}: `));
    expect(plainWire).toContain('GET / HTTP/1.1');
    const identities = Object.fromEntries(ready.map((p) => [p.metadata?.name ?? '', identity(p)]));

    const zt = (
      await core().listNamespacedPod({
        namespace: AMBIT_NAMESPACE,
        labelSelector: 'app.kubernetes.io/name=ztunnel',
        fieldSelector: `spec.nodeName=${SERVER_NODE}`,
      })
    ).items[0];
    const metricsPort = await portForward(AMBIT_NAMESPACE, zt?.metadata?.name ?? '', 15020);
    const principal = `spiffe://cluster.local/ns/${NS}/sa/curl`;
    const metrics = async () => (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    expect(connectionsFrom(await metrics(), principal)).toBe(0);

    const t = performance.now();
    await kubectlOk(kubeconfig, ['label', 'namespace', NS, 'istio.io/dataplane-mode=ambient']);
    const enrolled = await until(
      "a request carried over HBONE (the echo node's ztunnel counts it)",
      async () => {
        const r = await curlEcho();
        return r.code === 0 && connectionsFrom(await metrics(), principal) > 0 && r;
      },
      { timeoutMs: 60_000, everyMs: 250 },
    );
    measured.labelToHboneMs = Math.round(performance.now() - t);
    const body = JSON.parse(enrolled.stdout) as { path: string };
    expect(body.path).toBe('/');

    const wire = await capture(curlEcho);
    expect(wire).toMatch(/\.15008: /);
    expect(wire).not.toMatch(new RegExp(`\\.${ECHO_PORT}: `));
    expect(wire).not.toContain('GET / HTTP/1.1');
    const dump = await metrics();
    expect(dump).toMatch(
      new RegExp(
        `istio_tcp_connections_opened_total\\{reporter="destination",source_workload="curl",.*` +
          `source_principal="${principal}",destination_workload="echo",.*` +
          `destination_principal="spiffe://cluster.local/ns/${NS}/sa/echo",.*connection_security_policy="mutual_tls"\\} \\d+`,
      ),
    );

    const after = await Promise.all([pod('curl'), pod('echo')]);
    expect(Object.fromEntries(after.map((p) => [p.metadata?.name ?? '', identity(p)]))).toEqual(identities);
    for (const p of after) {
      for (const c of p.status?.containerStatuses ?? []) expect(c.restartCount, c.name).toBe(0);
    }
  }, 180_000);

  // A restarted agent did not see these pods created: it finds their netns by the pod IP through the host's /proc
  // (netns-resolver.ts, as istio-cni does), whatever the runtime named them, and hands them to the ztunnel again.
  it('keeps enrolled pods in the mesh across a node agent restart', async () => {
    const old = await kubectlOk(kubeconfig, [
      ...['-n', AMBIT_NAMESPACE, 'get', 'pods', '-o', 'name'],
      ...[
        '-l',
        'app.kubernetes.io/name=ambit-node-agent',
        '--field-selector',
        `spec.nodeName=${CLIENT_NODE}`,
      ],
    ]);
    await kubectlOk(kubeconfig, ['-n', AMBIT_NAMESPACE, 'delete', old.trim(), '--wait=true']);
    await until(
      `a new node agent Ready on ${CLIENT_NODE}`,
      async () =>
        (
          await core().listNamespacedPod({
            namespace: AMBIT_NAMESPACE,
            labelSelector: 'app.kubernetes.io/name=ambit-node-agent',
            fieldSelector: `spec.nodeName=${CLIENT_NODE}`,
          })
        ).items.some((p) => isReady(p) && `pod/${p.metadata?.name ?? ''}` !== old.trim()),
      60_000,
    );
    const recovered = await until(
      'a request through the mesh again',
      async () => (await curlEcho()).code === 0,
      { timeoutMs: 10_000, everyMs: 500 },
    ).then(
      () => true,
      () => false,
    );
    expect(recovered).toBe(true);
  }, 90_000);

  it('deleting the Mesh removes what Ambit made from the API and takes the plugin out of every node', async () => {
    if (box === undefined) throw new Error('no box');
    const t = performance.now();
    await kubectlOk(kubeconfig, ['delete', 'mesh', 'default', '--timeout=90s'], { timeoutMs: 100_000 });
    await until(
      'the DaemonSet pods gone',
      async () =>
        (await core().listNamespacedPod({ namespace: AMBIT_NAMESPACE })).items.every(
          (p) => p.metadata?.labels?.['app.kubernetes.io/name'] === 'ambit-operator',
        ),
      90_000,
    );
    measured.meshDeleteMs = Math.round(performance.now() - t);
    const managed = 'app.kubernetes.io/managed-by=ambit-operator';
    for (const kind of [
      'daemonsets',
      'deployments',
      'services',
      'serviceaccounts',
      'clusterroles',
      'clusterrolebindings',
      'gatewayclasses',
    ]) {
      const left = await kubectlOk(kubeconfig, ['get', kind, '-A', '-l', managed, '-o', 'name']);
      expect(left.trim(), kind).toBe('');
    }
    for (const [kind, name] of [
      ['secret', 'ambit-ca-root'],
      ['configmap', 'ambit-root-ca'],
    ] as const) {
      const r = await kubectl(kubeconfig, ['-n', AMBIT_NAMESPACE, 'get', kind, name]);
      expect(r.stderr, `${kind}/${name}`).toContain('NotFound');
    }
    for (const n of box.nodes) {
      const dir = join(n.root, NODE_CNI_CONF_DIR);
      const [file] = (await readdir(dir)).filter((f) => f.endsWith('.conflist')).sort();
      const list = JSON.parse(await readFile(join(dir, file ?? ''), 'utf8')) as {
        plugins: { type: string }[];
      };
      expect(list.plugins.map((p) => p.type)).toEqual(['loopback', 'bridge']);
      expect(existsSync(join(n.root, NODE_CNI_BIN_DIR, 'ambit-cni'))).toBe(false);
    }
    // A pod made now gets no capture call: its sandbox is created without the agent.
    await kubectlOk(kubeconfig, [
      '-n',
      NS,
      'run',
      'late',
      '--image=curlimages/curl',
      '--',
      'sleep',
      'infinity',
    ]);
    await until('a pod created after the Mesh went Ready', async () => isReady(await pod('late')), 60_000);
  }, 180_000);

  // KNOWN GAP (dataplane/node-agent): on SIGTERM the node agent leaves the redirect in every pod it captured (on
  // purpose, for restarts), so when the Mesh is deleted enrolled pods keep sending to a ztunnel that is gone and
  // curl fails with exit 7. Istio's CNI agent removes the redirect when its DaemonSet is being deleted rather than
  // upgraded. When the node agent does that, this test fails: make it a plain `it`.
  it.fails(
    'after the Mesh is deleted, the enrolled pods still talk (their redirect is removed)',
    async () => {
      const r = await curlEcho();
      expect(r.code, r.stderr).toBe(0);
    },
    30_000,
  );

  it('stops, leaving no process and exactly the host it found', async () => {
    if (box === undefined) throw new Error('no box');
    const workDir = box.workDir;
    const t = performance.now();
    await box.stop();
    measured.stopMs = Math.round(performance.now() - t);
    box = undefined;
    expect(await processesMentioning(workDir)).toEqual([]);
    expect(existsSync(workDir)).toBe(false);
    // The mount point the kubelets made for the plugins' view of /var/run/ambit went with them.
    expect(existsSync('/run/ambit')).toBe(runAmbitBefore);
    expect(boxDifferences(BOX, before, await snapshotHost())).toEqual([]);
  }, 60_000);
});
