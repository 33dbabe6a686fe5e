// The runtime layer end to end on a real node netns, with pods, tokens and ConfigMaps from the shared apiserver.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { V1Container, V1Pod } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { startContainer, type ContainerHandle } from './container.ts';
import { planContainerStart, podLogPath } from './container-plan.ts';
import type { EnvFacts } from './env.ts';
import { ensureProbeSource, NodeProber, PROBE_SOURCE_ADDRESS } from './prober.ts';
import { ContainerProbes, type ContainerProbeStatus } from './probes.ts';
import { createSandbox, removeSandbox, type Sandbox } from './sandbox.ts';
import { kubeApiAccessVolume, SERVICE_ACCOUNT_MOUNT_PATH } from './service-account.ts';
import { createTestNamespace, jwtClaims, volumeSourcesFor, type TestNamespace } from './testing/api.ts';
import { hostState, processesMentioning, sweepPrefix, type HostState } from './testing/host-state.ts';
import { run } from './tools.ts';
import { materializeVolumes } from './volumes.ts';

const PREFIX = 'akt-kl-';
const NODE = 'akt-kl-node0';
const POD_CIDR = '10.244.50.0/24';
/** Every container's argv carries it, so leftovers are found by command line. */
const TAG = `akt-kl-tag-${process.pid}`;
const IMAGE = 'ambit.test/node:24';

const SA_DIR = SERVICE_ACCOUNT_MOUNT_PATH;
const SERVER = `
const fs = require('node:fs'), net = require('node:net'), http = require('node:http');
const { createHash } = require('node:crypto');
console.log('token-sha256 ' + createHash('sha256').update(fs.readFileSync('${SA_DIR}/token')).digest('hex'));
console.log('sa-namespace ' + fs.readFileSync('${SA_DIR}/namespace', 'utf8'));
console.log('ca-sha256 ' + createHash('sha256').update(fs.readFileSync('${SA_DIR}/ca.crt')).digest('hex'));
console.log('env ' + [process.env.POD_NAME, process.env.POD_NAMESPACE, process.env.POD_IP, process.env.NODE_NAME].join(' '));
net.createServer((s) => s.pipe(s)).listen(7000, '0.0.0.0');
http.createServer((req, res) => {
  console.log('http ' + req.url + ' from ' + req.socket.remoteAddress);
  res.end('ok');
}).listen(8080, '0.0.0.0', () => console.log('listening'));
process.on('SIGTERM', () => console.log('got SIGTERM, ignoring'));
`;
const CLIENT = `
const fs = require('node:fs'), net = require('node:net');
const { createHash } = require('node:crypto');
console.log('token-sha256 ' + createHash('sha256').update(fs.readFileSync('${SA_DIR}/token')).digest('hex'));
console.log('resolv ' + JSON.stringify(fs.readFileSync('/etc/resolv.conf', 'utf8')));
console.log('hosts-last ' + fs.readFileSync('/etc/hosts', 'utf8').trim().split('\\n').pop());
const s = net.connect(7000, process.env.SERVER_IP, () => s.write('ping-from-b'));
s.on('data', (d) => { console.log('echo ' + d); process.exit(String(d) === 'ping-from-b' ? 0 : 1); });
s.on('error', (e) => { console.error('error ' + e.message); process.exit(2); });
`;
const GRACEFUL = `
process.on('SIGTERM', () => { console.log('graceful exit'); process.exit(0); });
setInterval(() => {}, 1000);
console.log('waiting');
`;

function nodeContainer(name: string, script: string, extra: Partial<V1Container> = {}): V1Container {
  return { name, image: IMAGE, command: [process.execPath, '-e', script, TAG], ...extra };
}

const downwardEnv = [
  { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
  { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
  { name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
  { name: 'NODE_NAME', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } },
];

function sha256(s: string): string {
  return createHash('sha256').update(s).digest('hex');
}

async function logOf(path: string): Promise<string[]> {
  return (await readFile(path, 'utf8')).split('\n').filter((l) => l !== '');
}

/** The content of each log line, without the CRI prefix. */
async function logText(path: string): Promise<string[]> {
  return (await logOf(path)).map((l) => l.split(' ').slice(3).join(' '));
}

async function timed<T>(timings: Record<string, number[]>, key: string, f: () => Promise<T>): Promise<T> {
  const t0 = performance.now();
  try {
    return await f();
  } finally {
    (timings[key] ??= []).push(Math.round(performance.now() - t0));
  }
}

let runSecretsExisted = false;

describe('the fake runtime: two pods on one node', () => {
  let before: HostState;
  let work: string;
  let ns: TestNamespace;
  let prober: NodeProber;
  let podA: V1Pod;
  let podB: V1Pod;
  let sandboxA: Sandbox;
  let sandboxB: Sandbox;
  const sandboxes: Sandbox[] = [];
  const handles: ContainerHandle[] = [];
  const probes: ContainerProbes[] = [];
  const tokensA: string[] = [];
  const tokensB: string[] = [];
  const timings: Record<string, number[]> = {};
  const logs: Record<string, string> = {};

  async function teardown(): Promise<void> {
    await Promise.all(probes.map((p) => p.stop()));
    await Promise.all(handles.map((h) => h.stop(0)));
    await prober?.close();
    for (const s of sandboxes.splice(0)) await timed(timings, 'removeSandbox', () => removeSandbox(s));
    if ((await run('ip', ['netns', 'list'])).includes(NODE)) await run('ip', ['netns', 'delete', NODE]);
    if (work !== undefined) await rm(work, { recursive: true, force: true });
    await ns?.remove();
  }

  async function startPodContainer(
    pod: V1Pod,
    sandbox: Sandbox,
    container: string,
  ): Promise<ContainerHandle> {
    const facts: EnvFacts = {
      nodeName: NODE,
      hostIP: '172.30.0.10',
      podIP: sandbox.podIP,
      configMap: () => undefined,
      secret: () => undefined,
    };
    const logPath = podLogPath(join(work, 'logs'), pod, container);
    logs[`${pod.metadata?.name ?? ''}/${container}`] = logPath;
    const opts = planContainerStart({
      pod,
      container,
      sandbox,
      layout: { podDir: join(work, 'pods', pod.metadata?.uid ?? '') },
      facts,
      logPath,
    });
    const handle = await timed(timings, 'startContainer', () => startContainer(opts));
    handles.push(handle);
    return handle;
  }

  async function runPod(pod: V1Pod, tokens: string[]): Promise<Sandbox> {
    const uid = pod.metadata?.uid ?? '';
    const sandbox = await timed(timings, 'createSandbox', () =>
      createSandbox({
        nodeNetns: NODE,
        pod: { namespace: ns.name, name: pod.metadata?.name ?? '', uid },
        podCidr: POD_CIDR,
        workDir: join(work, 'pods', uid),
        ipamDataDir: join(work, 'node0', 'ipam'),
        netnsPrefix: PREFIX,
      }),
    );
    sandboxes.push(sandbox);
    await timed(timings, 'materializeVolumes', () =>
      materializeVolumes({
        pod,
        layout: { podDir: join(work, 'pods', uid) },
        sources: volumeSourcesFor(ns, pod, tokens),
        facts: { nodeName: NODE, hostIP: '172.30.0.10', podIP: sandbox.podIP },
      }),
    );
    return sandbox;
  }

  beforeAll(async () => {
    runSecretsExisted = existsSync('/run/secrets');
    await sweepPrefix(PREFIX);
    before = await hostState(PREFIX);
    work = await mkdtemp(join(tmpdir(), PREFIX));
    await run('ip', ['netns', 'add', NODE]);
    await run('ip', ['-n', NODE, 'link', 'set', 'lo', 'up']);
    await ensureProbeSource(NODE);
    prober = new NodeProber(NODE);
    ns = await createTestNamespace(inject('kubeconfigPath'), PREFIX);
  });

  afterAll(async () => {
    await teardown();
    console.log(`timings (ms): ${JSON.stringify(timings)}`);
  });

  it('creates two sandboxes on the node bridge with their own DNS and hosts files', async () => {
    podA = await ns.createPod({
      metadata: { name: 'echo-server' },
      spec: {
        serviceAccountName: ns.serviceAccount,
        containers: [
          nodeContainer('server', SERVER, {
            env: downwardEnv,
            ports: [{ name: 'http', containerPort: 8080 }],
            startupProbe: { exec: { command: ['cat', `${SA_DIR}/namespace`] }, periodSeconds: 1 },
            livenessProbe: { tcpSocket: { port: 7000 }, periodSeconds: 1 },
            readinessProbe: { httpGet: { path: '/ready', port: 'http' }, periodSeconds: 1 },
          }),
        ],
      },
    });
    sandboxA = await runPod(podA, tokensA);
    podB = await ns.createPod({
      metadata: { name: 'echo-client' },
      spec: {
        serviceAccountName: ns.serviceAccount,
        containers: [
          nodeContainer('client', CLIENT, { env: [{ name: 'SERVER_IP', value: sandboxA.podIP }] }),
          nodeContainer('graceful', GRACEFUL),
        ],
      },
    });
    sandboxB = await runPod(podB, tokensB);

    for (const s of [sandboxA, sandboxB]) expect(s.podIP).toMatch(/^10\.244\.50\.\d+$/);
    expect(sandboxA.podIP).not.toBe(sandboxB.podIP);
    expect(sandboxA.netns).toMatch(/^akt-kl-[0-9a-f]{12}$/);
    expect(await readFile(`/etc/netns/${sandboxB.netns ?? ''}/resolv.conf`, 'utf8')).toBe(
      `search ${ns.name}.svc.cluster.local svc.cluster.local cluster.local\nnameserver 10.96.0.10\noptions ndots:5\n`,
    );
    expect(await readFile(`/etc/netns/${sandboxA.netns ?? ''}/hosts`, 'utf8')).toContain(
      `\n${sandboxA.podIP}\techo-server\n`,
    );
    const bridge = await run('ip', ['-n', NODE, '-br', 'addr', 'show', 'cni0']);
    expect(bridge).toContain('10.244.50.1/24');
  });

  it('mounts the kube-api-access volume the apiserver injected, as the admission plugin builds it', () => {
    const injected = podA.spec?.volumes?.find((v) => v.name.startsWith('kube-api-access-'));
    expect(injected).toBeDefined();
    expect(JSON.parse(JSON.stringify(injected))).toEqual(kubeApiAccessVolume(injected?.name ?? ''));
    expect(podA.spec?.containers[0]?.volumeMounts).toEqual([
      expect.objectContaining({ name: injected?.name, mountPath: SA_DIR, readOnly: true }),
    ]);
  });

  it('runs a TCP echo server in pod A and probes it from 169.254.7.127 on the node', async () => {
    const server = await startPodContainer(podA, sandboxA, 'server');
    const spec = podA.spec?.containers[0];
    if (spec === undefined) throw new Error('no server container');
    const statuses: ContainerProbeStatus[] = [];
    const p = new ContainerProbes({
      container: spec,
      target: { podIP: sandboxA.podIP, container: spec, prober, exec: (cmd, o) => server.exec(cmd, o) },
      onStatus: (s) => statuses.push(s),
    });
    probes.push(p);
    p.start();
    await vi.waitFor(() => expect(p.status()).toEqual({ started: true, ready: true, live: true }), {
      timeout: 15_000,
      interval: 100,
    });
    expect(statuses[0]).toEqual({ started: false, ready: false, live: true });
    // The server logs the request after answering it: poll for the line.
    await vi.waitFor(async () =>
      expect(await logText(logs['echo-server/server'] ?? '')).toContain(
        `http /ready from ${PROBE_SOURCE_ADDRESS}`,
      ),
    );
    const text = await logText(logs['echo-server/server'] ?? '');
    expect(text).toContain(`env echo-server ${ns.name} ${sandboxA.podIP} ${NODE}`);
    expect(text).toContain(`sa-namespace ${ns.name}`);
    expect(text).toContain(`ca-sha256 ${sha256(ns.caPem)}`);
  });

  it('connects pod B to pod A across the bridge and gets the echo', async () => {
    const client = await startPodContainer(podB, sandboxB, 'client');
    await expect(client.exited).resolves.toEqual({ code: 0, signal: null });
    const text = await logText(logs['echo-client/client'] ?? '');
    expect(text).toContain('echo ping-from-b');
    expect(text).toContain(
      `resolv ${JSON.stringify(`search ${ns.name}.svc.cluster.local svc.cluster.local cluster.local\nnameserver 10.96.0.10\noptions ndots:5\n`)}`,
    );
    expect(text).toContain(`hosts-last ${sandboxB.podIP}\techo-client`);
  });

  it('gives each pod its own bound token at the same path, invisible on the host', async () => {
    expect(tokensA).toHaveLength(1);
    expect(tokensB).toHaveLength(1);
    const [a = '', b = ''] = [tokensA[0], tokensB[0]];
    expect(a).not.toBe(b);
    expect(jwtClaims(a)).toMatchObject({
      'kubernetes.io': { namespace: ns.name, pod: { name: 'echo-server', uid: podA.metadata?.uid } },
    });
    expect(jwtClaims(b)).toMatchObject({ 'kubernetes.io': { pod: { name: 'echo-client' } } });
    expect(await logText(logs['echo-server/server'] ?? '')).toContain(`token-sha256 ${sha256(a)}`);
    expect(await logText(logs['echo-client/client'] ?? '')).toContain(`token-sha256 ${sha256(b)}`);
    expect(existsSync(`${SA_DIR}/token`)).toBe(false);
  });

  it('writes CRI-format log lines', async () => {
    const lines = await logOf(logs['echo-client/client'] ?? '');
    expect(lines.length).toBeGreaterThanOrEqual(4);
    for (const line of lines) expect(line).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z stdout F /);
  });

  it('stops with SIGTERM, then SIGKILL once the grace period is over', async () => {
    const graceful = await startPodContainer(podB, sandboxB, 'graceful');
    await vi.waitFor(async () =>
      expect(await logText(logs['echo-client/graceful'] ?? '')).toContain('waiting'),
    );
    let t0 = performance.now();
    await expect(graceful.stop(10)).resolves.toEqual({ code: 0, signal: null });
    expect(performance.now() - t0).toBeLessThan(3_000);
    expect(await logText(logs['echo-client/graceful'] ?? '')).toContain('graceful exit');

    const server = handles[0];
    if (server === undefined) throw new Error('no server');
    await Promise.all(probes.splice(0).map((p) => p.stop()));
    t0 = performance.now();
    await expect(server.stop(1)).resolves.toEqual({ code: null, signal: 'SIGKILL' });
    const took = performance.now() - t0;
    expect(took).toBeGreaterThanOrEqual(950);
    expect(took).toBeLessThan(5_000);
    expect(await logText(logs['echo-server/server'] ?? '')).toContain('got SIGTERM, ignoring');
  });

  it('leaves nothing behind once both sandboxes and the node are removed', async () => {
    const containerPids = handles.map((h) => h.pid);
    const agentPid = await prober.pid();
    const workDir = work;
    await teardown();
    const after = await hostState(PREFIX);
    expect(after.netns).toEqual(before.netns);
    // Other suites may use /etc/netns meanwhile: ours are gone, and the directory too if it was absent and is empty.
    expect(after.etcNetns?.filter((e) => e.startsWith(PREFIX)) ?? []).toEqual([]);
    if (before.etcNetns === null && after.etcNetns !== null) expect(after.etcNetns).not.toEqual([]);
    expect(
      after.mountPoints.filter(
        (m) => m.includes(PREFIX) || m.includes(workDir) || m.startsWith('/run/secrets'),
      ),
    ).toEqual([]);
    expect(after.hostLinks.filter((l) => !before.hostLinks.includes(l) && /^(veth|cni0)/.test(l))).toEqual(
      [],
    );
    expect(await processesMentioning([TAG, NODE, workDir])).toEqual([]);
    for (const pid of [...containerPids, agentPid ?? -1])
      expect(existsSync(`/proc/${pid}`), `pid ${pid}`).toBe(false);
    // Only what this test made must be gone: /run/secrets may legitimately exist on a host.
    expect(existsSync('/run/secrets')).toBe(runSecretsExisted);
    expect(existsSync(workDir)).toBe(false);
  });
});
