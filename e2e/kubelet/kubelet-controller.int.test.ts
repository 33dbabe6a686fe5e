// The fake kubelet against the shared cluster: a real scheduler binds, a real controller-manager allocates and
// garbage-collects; the kubelet registers node akt-n1 and runs, probes, restarts and deletes its pods.
import { existsSync, statSync } from 'node:fs';
import { mkdtemp, readdir, readFile, readlink, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { join } from 'node:path';
import {
  AppsV1Api,
  BatchV1Api,
  CoordinationV1Api,
  CoreV1Api,
  KubeConfig,
  type V1Container,
  type V1Pod,
} from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { defaultCatalogue } from './catalogue/index.ts';
import { startKubelet, type Kubelet } from './kubelet.ts';
import { podNetnsName } from './sandbox-plan.ts';
import { createTestNamespace, type TestNamespace } from './testing/api.ts';
import {
  hostState,
  netnsNames,
  processesMentioning,
  sweepPrefix,
  type HostState,
} from './testing/host-state.ts';
import { writeNodeKubeconfig } from './testing/node-kubeconfig.ts';
import { run, runCapture, tool } from './tools.ts';

const PREFIX = 'akt-kc-';
const NODE_NETNS = 'akt-kc-node';
const NODE = 'akt-n1';
const NODE_IP = '172.30.0.10';
const ECHO_IMAGE = 'ambit/echo-http:1.0';
const CURL_IMAGE = 'docker.io/curlimages/curl:8.16.0';
const MISSING_IMAGE = 'ambit.test/no-such-image:v1';

const downwardEnv = [
  { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
  { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
  { name: 'NODE_NAME', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } },
];

function ipToInt(ip: string): number {
  return ip.split('.').reduce((n, o) => n * 256 + Number(o), 0);
}

function inCidr(ip: string, cidr: string): boolean {
  const [base = '', bits = '32'] = cidr.split('/');
  const size = 2 ** (32 - Number(bits));
  return Math.floor(ipToInt(ip) / size) === Math.floor(ipToInt(base) / size);
}

function containerOf(
  pod: V1Pod | undefined,
  name: string,
): NonNullable<NonNullable<V1Pod['status']>['containerStatuses']>[number] | undefined {
  return pod?.status?.containerStatuses?.find((c) => c.name === name);
}

function isReady(pod: V1Pod | undefined): boolean {
  return pod?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

/** The inode of a named netns, to find processes still inside it later. */
function netnsInode(name: string): number {
  return statSync(`/var/run/netns/${name}`).ino;
}

/** Pids whose network namespace is one of the given inodes. */
async function pidsInNetns(inodes: readonly number[]): Promise<string[]> {
  const found: string[] = [];
  for (const pid of await readdir('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const link = await readlink(`/proc/${pid}/ns/net`);
      const ino = Number(/\[(\d+)\]/.exec(link)?.[1]);
      if (inodes.includes(ino)) found.push(pid);
    } catch {
      // exited meanwhile
    }
  }
  return found;
}

describe('the fake kubelet on a registered node', () => {
  const adminKubeconfig = inject('kubeconfigPath');
  const kc = new KubeConfig();
  kc.loadFromFile(adminKubeconfig);
  const core = kc.makeApiClient(CoreV1Api);
  const apps = kc.makeApiClient(AppsV1Api);
  const batch = kc.makeApiClient(BatchV1Api);
  const coordination = kc.makeApiClient(CoordinationV1Api);
  const logs: string[] = [];
  const timings: Record<string, number> = {};
  let before: HostState;
  let work: string | undefined;
  let ns: TestNamespace | undefined;
  let kubelet: Kubelet | undefined;
  let nodeCredentials = 'admin';
  let echoPods: V1Pod[] = [];
  let curlPod: V1Pod | undefined;

  const pod = (name: string): Promise<V1Pod | undefined> =>
    core.readNamespacedPod({ namespace: ns?.name ?? '', name }).catch(() => undefined);

  const podSpec = (containers: V1Container[]): NonNullable<V1Pod['spec']> => ({
    serviceAccountName: ns?.serviceAccount ?? 'default',
    nodeSelector: { 'kubernetes.io/hostname': NODE },
    containers,
  });

  async function deleteNode(): Promise<void> {
    await core.deleteNode({ name: NODE }).catch(() => undefined);
    await coordination
      .deleteNamespacedLease({ namespace: 'kube-node-lease', name: NODE })
      .catch(() => undefined);
  }

  beforeAll(async () => {
    await sweepPrefix(PREFIX);
    await deleteNode();
    before = await hostState(PREFIX);
    work = await mkdtemp(join(tmpdir(), PREFIX));
    await run('ip', ['netns', 'add', NODE_NETNS]);
    await run('ip', ['-n', NODE_NETNS, 'link', 'set', 'lo', 'up']);
    await run('ip', ['-n', NODE_NETNS, 'addr', 'add', `${NODE_IP}/32`, 'dev', 'lo']);
    const nodeKubeconfig = join(work, 'node.kubeconfig');
    if (await writeNodeKubeconfig(adminKubeconfig, NODE, nodeKubeconfig)) nodeCredentials = nodeKubeconfig;
    ns = await createTestNamespace(adminKubeconfig, PREFIX);
    const t0 = performance.now();
    kubelet = await startKubelet({
      nodeName: NODE,
      nodeNetns: NODE_NETNS,
      nodeIP: NODE_IP,
      kubeconfig: nodeCredentials === 'admin' ? adminKubeconfig : nodeCredentials,
      workDir: join(work, 'kubelet'),
      catalogue: defaultCatalogue(),
      netnsPrefix: PREFIX,
      log: (line) => logs.push(`${new Date().toISOString()} ${line}`),
    });
    timings.startKubelet = Math.round(performance.now() - t0);
  });

  afterAll(async () => {
    await kubelet?.stop();
    await deleteNode();
    await ns?.remove();
    if ((await netnsNames()).includes(NODE_NETNS)) await run('ip', ['netns', 'delete', NODE_NETNS]);
    if (work !== undefined) await rm(work, { recursive: true, force: true });
    console.log(`kubelet credentials: ${nodeCredentials === 'admin' ? 'admin' : 'system:node:akt-n1'}`);
    console.log(`timings (ms): ${JSON.stringify(timings)}`);
    console.log(`kubelet log:\n${logs.join('\n')}`);
  });

  it('registers a Ready node, gets a podCIDR from the controller-manager, authenticates as the node', async () => {
    expect(nodeCredentials).not.toBe('admin');
    // Bound to another node by hand (no scheduler): this kubelet must never touch it (checked at the end).
    await ns?.createPod({
      metadata: { name: 'elsewhere' },
      spec: { nodeName: 'akt-n2', containers: [{ name: 'app', image: ECHO_IMAGE }] },
    });
    const node = await core.readNode({ name: NODE });
    expect(node.metadata?.labels).toMatchObject({
      'kubernetes.io/hostname': NODE,
      'kubernetes.io/os': 'linux',
      'kubernetes.io/arch': 'amd64',
    });
    expect(node.spec?.podCIDR).toBe(kubelet?.podCidr);
    expect(node.spec?.podCIDR).toMatch(/^10\.244\.\d+\.0\/24$/);
    expect(node.status?.conditions?.find((c) => c.type === 'Ready')).toMatchObject({
      status: 'True',
      reason: 'KubeletReady',
    });
    expect(node.status?.addresses).toEqual([
      { type: 'InternalIP', address: NODE_IP },
      { type: 'Hostname', address: NODE },
    ]);
    expect(node.status?.nodeInfo).toMatchObject({
      kubeletVersion: 'v1.34.4',
      containerRuntimeVersion: 'ambit-box://0.1',
    });
    expect(node.status?.allocatable).toMatchObject({ cpu: '4', memory: '16Gi', pods: '110' });
  });

  it('runs a Deployment of two HTTP echo replicas until it is Available', async () => {
    const namespace = ns?.name ?? '';
    const t0 = performance.now();
    await apps.createNamespacedDeployment({
      namespace,
      body: {
        metadata: { name: 'echo' },
        spec: {
          replicas: 2,
          selector: { matchLabels: { app: 'echo' } },
          template: {
            metadata: { labels: { app: 'echo' } },
            spec: podSpec([
              {
                name: 'echo',
                image: ECHO_IMAGE,
                env: downwardEnv,
                ports: [{ name: 'http', containerPort: 8080 }],
                readinessProbe: { httpGet: { path: '/ready', port: 'http' }, periodSeconds: 1 },
              },
            ]),
          },
        },
      },
    });
    await vi.waitFor(
      async () => {
        const d = await apps.readNamespacedDeployment({ namespace, name: 'echo' });
        expect(d.status?.availableReplicas).toBe(2);
        expect(d.status?.conditions?.find((c) => c.type === 'Available')?.status).toBe('True');
      },
      { timeout: 60_000, interval: 100 },
    );
    timings.deploymentAvailable = Math.round(performance.now() - t0);
    echoPods = (await core.listNamespacedPod({ namespace, labelSelector: 'app=echo' })).items;
    expect(echoPods).toHaveLength(2);
    for (const p of echoPods) {
      expect(p.spec?.nodeName).toBe(NODE);
      expect(p.status?.phase).toBe('Running');
      expect(p.status?.hostIP).toBe(NODE_IP);
      expect(inCidr(p.status?.podIP ?? '', kubelet?.podCidr ?? '')).toBe(true);
      expect(p.status?.podIPs).toEqual([{ ip: p.status?.podIP }]);
      const conditions = Object.fromEntries((p.status?.conditions ?? []).map((c) => [c.type, c.status]));
      expect(conditions).toMatchObject({
        PodScheduled: 'True',
        PodReadyToStartContainers: 'True',
        Initialized: 'True',
        ContainersReady: 'True',
        Ready: 'True',
      });
      expect(containerOf(p, 'echo')).toMatchObject({
        ready: true,
        started: true,
        restartCount: 0,
        image: 'docker.io/ambit/echo-http:1.0',
        imageID: expect.stringMatching(/^docker\.io\/ambit\/echo-http@sha256:[0-9a-f]{64}$/) as unknown,
        containerID: expect.stringMatching(/^ambit-box:\/\/[0-9a-f]{64}$/) as unknown,
        state: { running: { startedAt: expect.any(Date) as unknown } },
      });
    }
    expect(new Set(echoPods.map((p) => p.status?.podIP)).size).toBe(2);
  });

  it('writes pod status only when it changes (probes keep passing, the object stays as it is)', async () => {
    const name = echoPods[0]?.metadata?.name ?? '';
    const before = (await pod(name))?.metadata?.resourceVersion;
    await sleep(3_500); // three readiness periods, each a passing probe
    expect((await pod(name))?.metadata?.resourceVersion).toBe(before);
  });

  it('answers a curl pod over the pod network with the echo pod JSON', async () => {
    const t0 = performance.now();
    curlPod = await ns?.createPod({
      metadata: { name: 'curl', labels: { app: 'curl' } },
      spec: {
        ...podSpec([{ name: 'curl', image: CURL_IMAGE, command: ['/bin/sleep', 'infinity'] }]),
        terminationGracePeriodSeconds: 0,
      },
    });
    await vi.waitFor(async () => expect(isReady(await pod('curl'))).toBe(true), {
      timeout: 30_000,
      interval: 50,
    });
    timings.curlPodCreateToReady = Math.round(performance.now() - t0);
    curlPod = await pod('curl');
    const target = echoPods[0];
    const url = `http://${target?.status?.podIP ?? ''}:8080/hello?from=curl`;

    // From outside the container, as `ip netns exec` into the pod's network namespace.
    const netns = podNetnsName(PREFIX, curlPod?.metadata?.uid ?? '');
    const res = await runCapture(tool('ip'), ['netns', 'exec', netns, 'curl', '-sS', '--max-time', '5', url]);
    expect(res.stderr).toBe('');
    const body = JSON.parse(res.stdout) as Record<string, unknown>;
    expect(body).toMatchObject({
      pod: target?.metadata?.name,
      namespace: ns?.name,
      node: NODE,
      method: 'GET',
      path: '/hello',
      query: 'from=curl',
      source: { address: curlPod?.status?.podIP },
      destination: { address: target?.status?.podIP, port: 8080 },
    });
    expect(body.headers).toMatchObject({ 'user-agent': expect.stringMatching(/^curl\//) as unknown });

    // From inside the container (what `kubectl exec` will do): the real Debian curl, in the pod's namespaces.
    const handle = kubelet?.container(ns?.name ?? '', 'curl', 'curl');
    const inside = await handle?.exec(['curl', '-sS', '--max-time', '5', url]);
    expect(inside?.code).toBe(0);
    expect(JSON.parse(inside?.output ?? '{}')).toMatchObject({ source: { address: curlPod?.status?.podIP } });
    // The service-account volume the kubelet filled through the API (a TokenRequest bound to the pod).
    const sa = '/var/run/secrets/kubernetes.io/serviceaccount';
    expect((await handle?.exec(['cat', `${sa}/namespace`]))?.output).toBe(ns?.name);
    expect((await handle?.exec(['cat', `${sa}/token`]))?.output).toMatch(/^ey[\w-]+\.[\w-]+\.[\w-]+$/);
  });

  it('runs a hostNetwork pod after its init container, with env from a ConfigMap and a Secret', async () => {
    const namespace = ns?.name ?? '';
    await core.createNamespacedConfigMap({
      namespace,
      body: { metadata: { name: 'echo-config' }, data: { version: 'v7' } },
    });
    await core.createNamespacedSecret({
      namespace,
      body: { metadata: { name: 'echo-secret' }, stringData: { sa: 'from-secret' } },
    });
    await ns?.createPod({
      metadata: { name: 'node-echo' },
      spec: {
        ...podSpec([
          {
            name: 'echo',
            image: ECHO_IMAGE,
            args: ['--port', '18080'],
            env: [
              ...downwardEnv,
              { name: 'VERSION', valueFrom: { configMapKeyRef: { name: 'echo-config', key: 'version' } } },
              { name: 'SERVICE_ACCOUNT', valueFrom: { secretKeyRef: { name: 'echo-secret', key: 'sa' } } },
            ],
            readinessProbe: { tcpSocket: { port: 18080 }, periodSeconds: 1 },
          },
        ]),
        hostNetwork: true,
        initContainers: [{ name: 'init', image: 'busybox', command: ['sh', '-c', 'echo initialized'] }],
      },
    });
    await vi.waitFor(async () => expect(isReady(await pod('node-echo'))).toBe(true), {
      timeout: 30_000,
      interval: 50,
    });
    const p = await pod('node-echo');
    expect(p?.status?.podIP).toBe(NODE_IP);
    expect(p?.status?.initContainerStatuses?.[0]).toMatchObject({
      name: 'init',
      ready: true,
      state: { terminated: { exitCode: 0, reason: 'Completed' } },
    });
    expect(await readFile(kubelet?.logPath(namespace, 'node-echo', 'init') ?? '', 'utf8')).toMatch(
      / stdout F initialized\n$/,
    );
    const res = await runCapture(tool('ip'), [
      'netns',
      'exec',
      NODE_NETNS,
      'curl',
      '-sS',
      '--max-time',
      '5',
      `http://${NODE_IP}:18080/`,
    ]);
    expect(JSON.parse(res.stdout)).toMatchObject({
      pod: 'node-echo',
      version: 'v7',
      serviceAccount: 'from-secret',
    });
  });

  it('shows ImagePullBackOff naming an image the catalogue does not have', async () => {
    await ns?.createPod({
      metadata: { name: 'missing-image' },
      spec: podSpec([{ name: 'app', image: MISSING_IMAGE }]),
    });
    await vi.waitFor(
      async () => {
        const p = await pod('missing-image');
        expect(containerOf(p, 'app')?.state?.waiting?.reason).toBe('ImagePullBackOff');
      },
      { timeout: 30_000, interval: 100 },
    );
    const p = await pod('missing-image');
    expect(p?.status?.phase).toBe('Pending');
    const waiting = containerOf(p, 'app')?.state?.waiting;
    expect(waiting?.message).toContain(`Back-off pulling image "${MISSING_IMAGE}"`);
    expect(waiting?.message).toContain('ErrImagePull');
    expect(waiting?.message).toContain("is not in the box's image catalogue");
  });

  it('restarts a container that exits 1 with a growing restartCount', async () => {
    await ns?.createPod({
      metadata: { name: 'crasher' },
      spec: podSpec([{ name: 'app', image: 'busybox:1.36', command: ['sh', '-c', 'echo crashing; exit 1'] }]),
    });
    const seen = new Set<number>();
    await vi.waitFor(
      async () => {
        const c = containerOf(await pod('crasher'), 'app');
        seen.add(c?.restartCount ?? -1);
        expect(c?.restartCount).toBeGreaterThanOrEqual(3);
        expect(c?.state?.waiting?.reason).toBe('CrashLoopBackOff');
      },
      { timeout: 45_000, interval: 100 },
    );
    const p = await pod('crasher');
    const c = containerOf(p, 'app');
    expect(p?.status?.phase).toBe('Running');
    expect(c?.lastState?.terminated).toMatchObject({ exitCode: 1, reason: 'Error' });
    expect(c?.state?.waiting?.message).toMatch(/^back-off \d+s restarting failed container=app pod=crasher_/);
    expect([...seen].filter((n) => n >= 0).length).toBeGreaterThanOrEqual(2);
    const previous = kubelet?.logPath(ns?.name ?? '', 'crasher', 'app', true) ?? '';
    expect(previous).toMatch(/\/\d+\.log$/);
    expect(await readFile(previous, 'utf8')).toMatch(/Z stdout F crashing\n$/);
  });

  it('runs a Job to completion: the pod Succeeds, its sandbox is released, the object stays', async () => {
    const namespace = ns?.name ?? '';
    await batch.createNamespacedJob({
      namespace,
      body: {
        metadata: { name: 'once' },
        spec: {
          backoffLimit: 0,
          template: {
            spec: {
              ...podSpec([{ name: 'work', image: 'busybox', command: ['sh', '-c', 'echo job done'] }]),
              restartPolicy: 'Never',
            },
          },
        },
      },
    });
    await vi.waitFor(
      async () => {
        const job = await batch.readNamespacedJob({ namespace, name: 'once' });
        expect(job.status?.succeeded).toBe(1);
        expect(job.status?.conditions?.find((c) => c.type === 'Complete')?.status).toBe('True');
      },
      { timeout: 30_000, interval: 100 },
    );
    const [jobPod] = (await core.listNamespacedPod({ namespace, labelSelector: 'job-name=once' })).items;
    expect(jobPod?.status?.phase).toBe('Succeeded');
    expect(containerOf(jobPod, 'work')?.state?.terminated).toMatchObject({
      exitCode: 0,
      reason: 'Completed',
    });
    const netns = podNetnsName(PREFIX, jobPod?.metadata?.uid ?? '');
    await vi.waitFor(async () => expect(await netnsNames()).not.toContain(netns));
    await batch.deleteNamespacedJob({ namespace, name: 'once', propagationPolicy: 'Background' });
    await vi.waitFor(
      async () =>
        expect((await core.listNamespacedPod({ namespace, labelSelector: 'job-name=once' })).items).toEqual(
          [],
        ),
      { timeout: 30_000, interval: 100 },
    );
  });

  it('finishes the deletion of pods the controllers delete, and removes their network namespaces', async () => {
    const namespace = ns?.name ?? '';
    const netns = echoPods.map((p) => podNetnsName(PREFIX, p.metadata?.uid ?? ''));
    for (const n of netns) expect(await netnsNames()).toContain(n);
    const t0 = performance.now();
    await apps.deleteNamespacedDeployment({ namespace, name: 'echo' });
    await vi.waitFor(
      async () =>
        expect((await core.listNamespacedPod({ namespace, labelSelector: 'app=echo' })).items).toEqual([]),
      { timeout: 30_000, interval: 50 },
    );
    timings.deploymentDeleteToPodsGone = Math.round(performance.now() - t0);
    const names = await netnsNames();
    for (const n of netns) expect(names).not.toContain(n);

    const t1 = performance.now();
    for (const name of ['missing-image', 'crasher', 'node-echo'])
      await core.deleteNamespacedPod({ namespace, name });
    await vi.waitFor(
      async () => {
        expect(await pod('missing-image')).toBeUndefined();
        expect(await pod('crasher')).toBeUndefined();
        expect(await pod('node-echo')).toBeUndefined();
      },
      { timeout: 30_000, interval: 50 },
    );
    timings.podDeleteToGone = Math.round(performance.now() - t1);
    expect(kubelet?.logPath(namespace, 'crasher', 'app')).toBeUndefined();
    const deletedByKubelet = logs.flatMap((l) => /\/([\w-]+): deleted$/.exec(l)?.[1] ?? []);
    for (const name of [
      ...echoPods.map((p) => p.metadata?.name ?? ''),
      'missing-image',
      'crasher',
      'node-echo',
    ]) {
      expect(deletedByKubelet).toContain(name);
    }
  });

  it('tears down a pod force-deleted from the API', async () => {
    await ns?.createPod({
      metadata: { name: 'forced' },
      spec: podSpec([{ name: 'app', image: 'busybox', command: ['sleep', 'infinity'] }]),
    });
    await vi.waitFor(async () => expect(isReady(await pod('forced'))).toBe(true), {
      timeout: 30_000,
      interval: 50,
    });
    const forced = await pod('forced');
    const netns = podNetnsName(PREFIX, forced?.metadata?.uid ?? '');
    const pid = kubelet?.container(ns?.name ?? '', 'forced', 'app')?.pid ?? -1;
    expect(existsSync(`/proc/${pid}`)).toBe(true);
    await core.deleteNamespacedPod({ namespace: ns?.name ?? '', name: 'forced', gracePeriodSeconds: 0 });
    await vi.waitFor(
      async () => {
        expect(await netnsNames()).not.toContain(netns);
        expect(existsSync(`/proc/${pid}`)).toBe(false);
        expect(logs.some((l) => l.endsWith('/forced: torn down'))).toBe(true);
      },
      { timeout: 15_000, interval: 50 },
    );
    expect(logs.some((l) => l.endsWith('/forced: deleted'))).toBe(false);
  });

  it('renews its Lease in kube-node-lease', async () => {
    const lease = await coordination.readNamespacedLease({ namespace: 'kube-node-lease', name: NODE });
    expect(lease.spec?.holderIdentity).toBe(NODE);
    expect(lease.metadata?.ownerReferences?.[0]).toMatchObject({ kind: 'Node', name: NODE });
    const first = new Date(lease.spec?.renewTime ?? 0).getTime();
    await vi.waitFor(
      async () => {
        const again = await coordination.readNamespacedLease({ namespace: 'kube-node-lease', name: NODE });
        expect(new Date(again.spec?.renewTime ?? 0).getTime()).toBeGreaterThan(first);
      },
      { timeout: 15_000, interval: 500 },
    );
  });

  it('stop() tears down what still runs, leaves nothing behind, and keeps the Pod objects', async () => {
    const namespace = ns?.name ?? '';
    const curlNetns = podNetnsName(PREFIX, curlPod?.metadata?.uid ?? '');
    const inodes = [netnsInode(curlNetns)];
    const curlPid = kubelet?.container(namespace, 'curl', 'curl')?.pid ?? -1;
    expect(curlPid).toBeGreaterThan(0);
    const t0 = performance.now();
    await kubelet?.stop();
    await kubelet?.stop();
    timings.stop = Math.round(performance.now() - t0);

    const after = await hostState(PREFIX);
    expect(after.netns.filter((n) => n !== NODE_NETNS)).toEqual(before.netns);
    expect(after.etcNetns?.filter((e) => e.startsWith(PREFIX)) ?? []).toEqual([]);
    if (before.etcNetns === null && after.etcNetns !== null) expect(after.etcNetns).not.toEqual([]);
    expect(
      after.mountPoints.filter(
        (m) => (m.includes(PREFIX) && !m.endsWith(`/${NODE_NETNS}`)) || m.includes(work ?? '/nonexistent'),
      ),
    ).toEqual([]);
    expect(after.hostLinks.filter((l) => !before.hostLinks.includes(l) && /^(veth|cni0)/.test(l))).toEqual(
      [],
    );
    expect(await run('ip', ['-n', NODE_NETNS, '-o', 'link', 'show'])).not.toMatch(/veth/);
    expect(await pidsInNetns(inodes)).toEqual([]);
    expect(existsSync(`/proc/${curlPid}`)).toBe(false);
    expect(await processesMentioning([NODE_NETNS, work ?? '/nonexistent', PREFIX])).toEqual([]);
    expect(await readdir(join(work ?? '', 'kubelet', 'pods'))).toEqual([]);

    const elsewhere = await pod('elsewhere');
    expect(elsewhere?.spec?.nodeName).toBe('akt-n2');
    expect(elsewhere?.status?.hostIP).toBeUndefined();
    expect(elsewhere?.status?.containerStatuses).toBeUndefined();
    expect(logs.filter((l) => l.includes('/elsewhere'))).toEqual([]);

    const still = await pod('curl');
    expect(still?.metadata?.uid).toBe(curlPod?.metadata?.uid);
    expect(still?.metadata?.deletionTimestamp).toBeUndefined();
    expect(logs.filter((l) => /sync failed|teardown failed|event handler failed/.test(l))).toEqual([]);
  });
});
