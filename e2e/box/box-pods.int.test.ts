// A 2-node box with its fake kubelets, as root: the real CoreDNS runs as a pod and serves cluster.local only; a
// Deployment spread over both nodes answers through its Service by name from a curl pod (the real curl in the
// pod's netns); a name outside the cluster does not resolve; stop() leaves the host as it found it.
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { AppsV1Api, CoreV1Api, type KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { snapshotHost, type HostSnapshot } from '../network/index.ts';
import { nodeProgram } from '../kubelet/index.ts';
import { NODE_BIN } from '../network/testing/echo.ts';
import { startBox, type Box } from './box.ts';
import { deploymentAvailable, type DeploymentJson } from './deployment-ready.ts';
import { reapLeftovers } from './reap.ts';
import { boxDifferences } from './testing/host-diff.ts';
import { alive, processesMentioning } from './testing/processes.ts';
import { inNetns, type NetnsRun } from './testing/netns-run.ts';

/** A fixed name, so that a run that died is reaped by the next one (beforeAll). */
const BOX = 'apods';
const NS = 'default';
const isRoot = process.getuid?.() === 0;

const ECHO_LABELS = { app: 'echo' };
/** An image only this test's catalogue knows (startBox's `catalogue` option): the echo server under another name. */
const EXTRA_IMAGE = 'ambit.test/echo-extra';
const downwardEnv = [
  { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
  { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
  { name: 'NODE_NAME', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } },
];

function isReady(pod: V1Pod): boolean {
  return pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

/** What a pod's containers may leave on the host outside the netns the snapshot covers. */
async function hostExtras(): Promise<{
  etcNetns: string[] | null;
  mountPoints: string[];
  etcCoredns: boolean;
}> {
  const info = await readFile('/proc/self/mountinfo', 'utf8');
  return {
    etcNetns: existsSync('/etc/netns') ? (await readdir('/etc/netns')).sort() : null,
    mountPoints: info
      .split('\n')
      .map((l) => l.split(' ')[4] ?? '')
      .filter((m) => m !== '')
      .sort(),
    etcCoredns: existsSync('/etc/coredns'),
  };
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? Number.NaN;
}

describe.skipIf(!isRoot)('a 2-node box with kubelets and cluster DNS', () => {
  let before: HostSnapshot;
  let extrasBefore: Awaited<ReturnType<typeof hostExtras>>;
  let box: Box | undefined;
  let kc: KubeConfig;
  let curl: NetnsRun;
  const containerPids: number[] = [];
  const measured: Record<string, unknown> = {};

  beforeAll(async () => {
    await reapLeftovers(BOX);
    before = await snapshotHost();
    extrasBefore = await hostExtras();
    const t = performance.now();
    box = await startBox({
      name: BOX,
      nodes: 2,
      catalogue: [
        { repositories: [EXTRA_IMAGE], program: nodeProgram('echo-http.ts'), description: 'test echo' },
      ],
      onProgress: (line) => console.info(`[box] ${line}`),
    });
    measured.startMs = Math.round(performance.now() - t);
    measured.stagesMs = Object.fromEntries(box.timings.map((s) => [s.stage, s.ms]));
    measured.corednsCreateToAvailableMs = box.clusterDns?.createToAvailableMs;
    measured.corednsAvailableToProgrammedMs = box.clusterDns?.availableToProgrammedMs;
    kc = box.cluster.kubeConfig();
  }, 240_000);

  afterAll(async () => {
    try {
      await box?.stop();
    } finally {
      await reapLeftovers(BOX);
      console.info(`box-pods measurements: ${JSON.stringify(measured)}`);
    }
  }, 120_000);

  it('runs the real CoreDNS as a pod behind kube-dns 10.96.0.10, Available before startBox returns', async () => {
    if (box === undefined) throw new Error('no box');
    const apps = kc.makeApiClient(AppsV1Api);
    const core = kc.makeApiClient(CoreV1Api);
    const dep = await apps.readNamespacedDeployment({ namespace: 'kube-system', name: 'coredns' });
    expect(deploymentAvailable(dep as DeploymentJson)).toBe(true);
    const svc = await core.readNamespacedService({ namespace: 'kube-system', name: 'kube-dns' });
    expect(svc.spec?.clusterIP).toBe('10.96.0.10');
    expect(svc.spec?.ports?.map((p) => `${p.port}/${p.protocol}`)).toEqual(['53/UDP', '53/TCP', '9153/TCP']);
    const pods = await core.listNamespacedPod({
      namespace: 'kube-system',
      labelSelector: 'k8s-app=kube-dns',
    });
    expect(pods.items).toHaveLength(1);
    const pod = pods.items[0];
    if (pod === undefined) throw new Error('no CoreDNS pod');
    expect(isReady(pod)).toBe(true);
    const node = pod.spec?.nodeName ?? '';
    const handle = box.kubelets.get(node)?.container('kube-system', pod.metadata?.name ?? '', 'coredns');
    if (handle === undefined) throw new Error(`no coredns container on ${node}`);
    containerPids.push(handle.pid);
    // The container's process is the CoreDNS binary itself, with the pod spec's args.
    expect((await readFile(`/proc/${handle.pid}/comm`, 'utf8')).trim()).toBe('coredns');
    const argv = (await readFile(`/proc/${handle.pid}/cmdline`, 'utf8')).split('\0').filter((a) => a !== '');
    expect(argv.slice(1)).toEqual(['-conf', '/etc/coredns/Corefile']);
    expect(argv[0]).toMatch(/\/coredns$/);
    // Ready means its kubernetes plugin has synced, through in-cluster config: the kubernetes Service's address
    // from the kubelet's env, and the bound token of the kube-api-access volume in the container's mounts.
    const env = (await readFile(`/proc/${handle.pid}/environ`, 'utf8')).split('\0');
    expect(env).toContain('KUBERNETES_SERVICE_HOST=10.96.0.1');
    // (/var/run is a symlink to /run, which would resolve against our root, not the container's.)
    const sa = `/proc/${handle.pid}/root/run/secrets/kubernetes.io/serviceaccount`;
    const token = await readFile(`${sa}/token`, 'utf8');
    const claims = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString()) as {
      sub: string;
      'kubernetes.io': { pod: { name: string } };
    };
    expect(claims.sub).toBe('system:serviceaccount:kube-system:coredns');
    expect(claims['kubernetes.io'].pod.name).toBe(pod.metadata?.name);
    expect(await readFile(`${sa}/ca.crt`, 'utf8')).toContain('BEGIN CERTIFICATE');
  });

  it('runs a Deployment spread over both nodes and a curl pod, all Ready', async () => {
    if (box === undefined) throw new Error('no box');
    const apps = kc.makeApiClient(AppsV1Api);
    const core = kc.makeApiClient(CoreV1Api);
    const t = performance.now();
    await apps.createNamespacedDeployment({
      namespace: NS,
      body: {
        metadata: { name: 'echo', labels: ECHO_LABELS },
        spec: {
          replicas: 2,
          selector: { matchLabels: ECHO_LABELS },
          template: {
            metadata: { labels: ECHO_LABELS },
            spec: {
              // One replica per node, as the scheduler must honour: requests then reach both nodes.
              affinity: {
                podAntiAffinity: {
                  requiredDuringSchedulingIgnoredDuringExecution: [
                    { labelSelector: { matchLabels: ECHO_LABELS }, topologyKey: 'kubernetes.io/hostname' },
                  ],
                },
              },
              containers: [
                {
                  name: 'echo',
                  image: `${EXTRA_IMAGE}:v1`,
                  env: downwardEnv,
                  ports: [{ containerPort: 8080, name: 'http' }],
                  readinessProbe: { httpGet: { path: '/', port: 'http' }, periodSeconds: 1 },
                },
              ],
            },
          },
        },
      },
    });
    await core.createNamespacedService({
      namespace: NS,
      body: {
        metadata: { name: 'echo' },
        spec: { selector: ECHO_LABELS, ports: [{ name: 'http', port: 80, targetPort: 'http' }] },
      },
    });
    await core.createNamespacedPod({
      namespace: NS,
      body: {
        metadata: { name: 'curl' },
        spec: {
          terminationGracePeriodSeconds: 0,
          containers: [{ name: 'curl', image: 'curlimages/curl:8.16.0', command: ['sleep', 'infinity'] }],
        },
      },
    });
    await vi.waitFor(
      async () => {
        const dep = await apps.readNamespacedDeployment({ namespace: NS, name: 'echo' });
        expect(deploymentAvailable(dep as DeploymentJson)).toBe(true);
      },
      { timeout: 60_000, interval: 100 },
    );
    measured.echoCreateToAvailableMs = Math.round(performance.now() - t);
    const echoes = (await core.listNamespacedPod({ namespace: NS, labelSelector: 'app=echo' })).items;
    expect(echoes.filter(isReady)).toHaveLength(2);
    expect(new Set(echoes.map((p) => p.spec?.nodeName))).toEqual(new Set(['node-0', 'node-1']));
    const client = await vi.waitFor(
      async () => {
        const pod = await core.readNamespacedPod({ namespace: NS, name: 'curl' });
        if (!isReady(pod)) throw new Error('curl pod not Ready yet');
        return pod;
      },
      { timeout: 60_000, interval: 100 },
    );
    curl = inNetns(box.podNetns(client.metadata?.uid ?? ''));
    for (const p of [...echoes, client]) {
      const node = p.spec?.nodeName ?? '';
      const c = p.spec?.containers[0]?.name ?? '';
      const pid = box.kubelets.get(node)?.container(NS, p.metadata?.name ?? '', c)?.pid;
      if (pid !== undefined) containerPids.push(pid);
    }
  }, 120_000);

  it('resolves Service names through CoreDNS and reaches the echo pods on both nodes with the real curl', async () => {
    if (box === undefined) throw new Error('no box');
    const network = box.network;
    // Available comes from the pods' readiness; kube-proxy writes each endpoint at its next sync (at most 1 s
    // apart) after the EndpointSlice lists it. Until both are in the client node's rules, requests cannot reach
    // both nodes.
    const core = kc.makeApiClient(CoreV1Api);
    const client = await core.readNamespacedPod({ namespace: NS, name: 'curl' });
    const echoIps = (await core.listNamespacedPod({ namespace: NS, labelSelector: 'app=echo' })).items.map(
      (p) => p.status?.podIP ?? '?',
    );
    const t = performance.now();
    await vi.waitFor(
      async () => {
        const nat = (await network.exec(client.spec?.nodeName ?? '', ['iptables-save', '-t', 'nat'])).stdout;
        for (const ip of echoIps) expect(nat).toContain(`-j DNAT --to-destination ${ip}:8080`);
      },
      { timeout: 15_000, interval: 100 },
    );
    measured.echoAvailableToProgrammedMs = Math.round(performance.now() - t);
    const seen = { full: new Set<string>(), short: new Set<string>() };
    for (let i = 0; i < 12; i++) {
      for (const [kind, url] of [
        ['full', 'http://echo.default.svc.cluster.local/'],
        ['short', 'http://echo/'],
      ] as const) {
        const res = await curl(['curl', '-sS', '--max-time', '5', url]);
        expect(res.code, res.stderr).toBe(0);
        const body = JSON.parse(res.stdout) as { pod: string; node: string; namespace: string };
        expect(body.namespace).toBe(NS);
        expect(body.pod).toMatch(/^echo-/);
        seen[kind].add(body.node);
      }
    }
    // kube-proxy picks an endpoint per connection at random: 12 tries miss a node with odds 2 × 2^-12.
    expect([...seen.full].sort()).toEqual(['node-0', 'node-1']);
    expect([...seen.short].sort()).toEqual(['node-0', 'node-1']);
  });

  it('resolves and reaches the apiserver through the kubernetes Service', async () => {
    const hosts = await curl(['getent', 'hosts', 'kubernetes.default']);
    expect(hosts.code).toBe(0);
    expect(hosts.stdout).toMatch(/^10\.96\.0\.1\s+kubernetes\.default\.svc\.cluster\.local/);
    const version = await curl(['curl', '-sSk', '--max-time', '5', 'https://kubernetes.default/version']);
    expect(version.code, version.stderr).toBe(0);
    expect(JSON.parse(version.stdout)).toMatchObject({ gitVersion: 'v1.34.4' });
  });

  it('has no upstream: a name outside the cluster does not resolve (curl exit 6)', async () => {
    const res = await curl(['curl', '-sS', '--max-time', '10', 'http://example.com/']);
    expect(res.code, res.stderr).toBe(6);
    expect((await curl(['getent', 'hosts', 'example.com'])).code).not.toBe(0);
    // CoreDNS itself answers SERVFAIL (the end of its plugin chain), not a timeout: there is no upstream to wait for.
    const script =
      "const r=new (require('node:dns').promises.Resolver)();r.setServers(['10.96.0.10']);" +
      "r.resolve4('example.com').then(()=>console.log('resolved'),(e)=>console.log(e.code))";
    expect((await curl([NODE_BIN, '-e', script])).stdout.trim()).toBe('ESERVFAIL');
  });

  it('carries DNS over UDP through kube-proxy (conntrack in the node netns) and measures lookup latency', async () => {
    if (box === undefined) throw new Error('no box');
    // 50 lookups of a cluster name, straight to kube-dns (no search list), each a fresh UDP socket.
    const script =
      "const {Resolver}=require('node:dns').promises;(async()=>{const out=[];" +
      "for(let i=0;i<50;i++){const r=new Resolver();r.setServers(['10.96.0.10']);" +
      "const t=performance.now();await r.resolve4('echo.default.svc.cluster.local');out.push(performance.now()-t)}" +
      'console.log(JSON.stringify(out))})().catch((e)=>{console.error(e.message);process.exit(1)})';
    const res = await curl([NODE_BIN, '-e', script]);
    expect(res.code, res.stderr).toBe(0);
    const ms = (JSON.parse(res.stdout) as number[]).sort((a, b) => a - b);
    measured.dnsLookupMs = {
      p50: Number(percentile(ms, 50).toFixed(2)),
      p90: Number(percentile(ms, 90).toFixed(2)),
      max: Number((ms.at(-1) ?? 0).toFixed(2)),
    };
    // The client's node netns tracked the UDP flows to 10.96.0.10:53, DNAT'ed to the CoreDNS pod.
    const core = kc.makeApiClient(CoreV1Api);
    const client = await core.readNamespacedPod({ namespace: NS, name: 'curl' });
    const dns = (
      await core.listNamespacedPod({ namespace: 'kube-system', labelSelector: 'k8s-app=kube-dns' })
    ).items[0];
    const node = client.spec?.nodeName ?? '';
    const tracked = await box.network.exec(node, [
      'conntrack',
      '-L',
      '-p',
      'udp',
      '--orig-dst',
      '10.96.0.10',
    ]);
    expect(tracked.stdout).toContain(`src=${client.status?.podIP ?? '?'} dst=10.96.0.10 sport=`);
    expect(tracked.stdout).toMatch(
      new RegExp(`src=${(dns?.status?.podIP ?? '?').replaceAll('.', '\\.')} dst=`),
    );
  });

  it('stops, leaving no pod process and exactly the host it found', async () => {
    if (box === undefined) throw new Error('no box');
    const workDir = box.workDir;
    const t = performance.now();
    await box.stop();
    measured.stopMs = Math.round(performance.now() - t);
    box = undefined;
    for (const pid of containerPids) expect(await alive(pid), `pid ${pid}`).toBe(false);
    expect(await processesMentioning(workDir)).toEqual([]);
    expect(existsSync(workDir)).toBe(false);
    expect(boxDifferences(BOX, before, await snapshotHost())).toEqual([]);
    expect(await hostExtras()).toEqual(extrasBefore);
  }, 60_000);
});
