// The kubelet API on a 2-node box, as root, through the real kubectl and kube-apiserver: `kubectl exec` (output,
// exit status, stdin, a terminal, the container's env, working dir and hostname), `kubectl logs` (-c, --tail, --previous,
// -f ending with the container), `kubectl port-forward` from host loopback to an echo pod on the other node, and
// only the apiserver's client certificate gets in. stop() leaves no kubelet server and the host as it was.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { request } from 'node:https';
import { createInterface } from 'node:readline';
import { CoreV1Api, type KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { snapshotHost, type HostSnapshot } from '../network/index.ts';
import { KUBELET_PORT } from '../kubelet/index.ts';
import { startBox, type Box } from './box.ts';
import { reapLeftovers } from './reap.ts';
import { boxDifferences } from './testing/host-diff.ts';
import { processesMentioning } from './testing/processes.ts';

/** A fixed name, so that a run that died is reaped by the next one (beforeAll). */
const BOX = 'akapi';
const NS = 'default';
const isRoot = process.getuid?.() === 0;

interface Kubectl {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function pod(name: string, node: string, spec: Record<string, unknown>): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: NS },
    spec: { nodeSelector: { 'kubernetes.io/hostname': node }, terminationGracePeriodSeconds: 1, ...spec },
  };
}

const PODS = [
  pod('echo', 'node-1', { containers: [{ name: 'echo', image: 'ambit/echo-http' }] }),
  pod('talker', 'node-0', {
    containers: [
      {
        name: 'main',
        image: 'busybox',
        command: [
          'sh',
          '-c',
          'echo first line; echo second line >&2; sleep 0.3; echo third line; exec sleep 3600',
        ],
        env: [{ name: 'GREETING', value: 'hello from the spec' }],
        workingDir: '/tmp',
      },
      { name: 'side', image: 'busybox', command: ['sh', '-c', 'echo side says hi; exec sleep 3600'] },
    ],
  }),
  // Exits 3 on its first run only (an emptyDir counts the runs): its second run is the current one.
  pod('crasher', 'node-1', {
    containers: [
      {
        name: 'c',
        image: 'busybox',
        command: [
          'sh',
          '-c',
          'n=$(( $(cat /data/n 2>/dev/null || echo 0) + 1 )); echo $n > /data/n; echo run $n; ' +
            '[ $n -gt 1 ] || exit 3; exec sleep 3600',
        ],
        volumeMounts: [{ name: 'data', mountPath: '/data' }],
      },
    ],
    volumes: [{ name: 'data', emptyDir: {} }],
  }),
];

function isReady(p: V1Pod): boolean {
  return p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

describe.skipIf(!isRoot)('the kubelet API of a 2-node box, through kubectl', () => {
  let before: HostSnapshot;
  let box: Box | undefined;
  let kc: KubeConfig;
  let kubeconfig = '';
  const measured: Record<string, unknown> = {};
  const children: ChildProcess[] = [];

  /** The real kubectl as the box's admin; never rejects (the exit status is in the result). */
  async function kubectl(args: readonly string[], input?: string, timeoutMs = 20_000): Promise<Kubectl> {
    const child = spawn('kubectl', ['--kubeconfig', kubeconfig, ...args], { stdio: 'pipe' });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.stdin.end(input ?? '');
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    const [code] = (await once(child, 'close')) as [number | null];
    clearTimeout(timer);
    return {
      code: code ?? -1,
      stdout: Buffer.concat(out).toString('utf8'),
      stderr: Buffer.concat(err).toString('utf8'),
    };
  }

  async function waitFor<T>(
    what: string,
    probe: () => Promise<T | undefined>,
    timeoutMs = 60_000,
  ): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const v = await probe();
      if (v !== undefined) return v;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  beforeAll(async () => {
    await reapLeftovers(BOX);
    before = await snapshotHost();
    const t = performance.now();
    box = await startBox({ name: BOX, nodes: 2, onProgress: (line) => console.info(`[box] ${line}`) });
    measured.startMs = Math.round(performance.now() - t);
    kc = box.cluster.kubeConfig();
    kubeconfig = box.kubeconfigPath;
    const applied = await kubectl(
      ['apply', '-f', '-'],
      JSON.stringify({ apiVersion: 'v1', kind: 'List', items: PODS }),
    );
    expect(applied.stderr).toBe('');
    const core = kc.makeApiClient(CoreV1Api);
    const t2 = performance.now();
    await waitFor('pods Ready', async () => {
      const pods = await core.listNamespacedPod({ namespace: NS });
      const crasher = pods.items.find((p) => p.metadata?.name === 'crasher');
      const restarted = (crasher?.status?.containerStatuses?.[0]?.restartCount ?? 0) >= 1;
      return pods.items.length === PODS.length && pods.items.every(isReady) && restarted ? true : undefined;
    });
    measured.podsReadyMs = Math.round(performance.now() - t2);
  }, 240_000);

  afterAll(async () => {
    for (const c of children) c.kill('SIGKILL');
    try {
      await box?.stop();
    } finally {
      await reapLeftovers(BOX);
      console.info(`box-kubelet-api measurements: ${JSON.stringify(measured)}`);
    }
  }, 120_000);

  it('registers each Node with the kubelet port the apiserver dials', async () => {
    const core = kc.makeApiClient(CoreV1Api);
    for (const n of box?.nodes ?? []) {
      const node = await core.readNode({ name: n.name });
      expect(node.status?.daemonEndpoints?.kubeletEndpoint?.Port).toBe(KUBELET_PORT);
      expect(node.status?.addresses).toContainEqual({ type: 'InternalIP', address: n.ip });
    }
  });

  it('kubectl exec: output, a non-zero exit status, stdin, and the container env, working dir and hostname', async () => {
    const t = performance.now();
    const ok = await kubectl(['exec', 'talker', '-c', 'main', '--', 'sh', '-c', 'echo out; echo err >&2']);
    measured.execMs = Math.round(performance.now() - t);
    expect(ok).toEqual({ code: 0, stdout: 'out\n', stderr: 'err\n' });

    const failed = await kubectl(['exec', 'talker', '-c', 'main', '--', 'sh', '-c', 'echo partial; exit 7']);
    expect(failed.code).toBe(7);
    expect(failed.stdout).toBe('partial\n');
    expect(failed.stderr).toContain('command terminated with exit code 7');

    const piped = await kubectl(
      ['exec', '-i', 'talker', '-c', 'main', '--', 'tr', 'a-z', 'A-Z'],
      'piped in\n',
    );
    expect(piped).toMatchObject({ code: 0, stdout: 'PIPED IN\n' });

    const env = await kubectl([
      'exec',
      'talker',
      '-c',
      'main',
      '--',
      'sh',
      '-c',
      'echo "$GREETING|$(pwd)|$(hostname)"',
    ]);
    expect(env).toMatchObject({ code: 0, stdout: 'hello from the spec|/tmp|talker\n' });

    // The pod's network: its own address, as the API reports it.
    const core = kc.makeApiClient(CoreV1Api);
    const talker = await core.readNamespacedPod({ namespace: NS, name: 'talker' });
    const addr = await kubectl([
      'exec',
      'talker',
      '-c',
      'side',
      '--',
      'ip',
      '-4',
      '-o',
      'addr',
      'show',
      'eth0',
    ]);
    expect(addr.stdout).toContain(`inet ${talker.status?.podIP ?? '?'}/`);

    const missing = await kubectl(['exec', 'talker', '-c', 'main', '--', 'no-such-command']);
    expect(missing.code).toBe(127);
    expect(missing.stderr).toContain('no-such-command');
  });

  it("kubectl exec -it: a terminal of the client's size (under script(1), which gives kubectl one)", async () => {
    const inner = `stty cols 123 rows 45; kubectl --kubeconfig ${kubeconfig} exec -it talker -c main -- sh -c 'stty size; echo "$TERM"'`;
    const child = spawn('script', ['-qec', inner, '/dev/null'], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    const out: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    const [code] = (await once(child, 'close')) as [number | null];
    clearTimeout(timer);
    expect(code).toBe(0);
    expect(Buffer.concat(out).toString('utf8')).toMatch(/45 123\r\nxterm\r\n/);
  });

  it('kubectl logs: the container output, -c, --tail, --previous and --timestamps', async () => {
    const main = await kubectl(['logs', 'talker', '-c', 'main']);
    expect(main.code).toBe(0);
    expect(main.stdout.split('\n').sort()).toEqual(['', 'first line', 'second line', 'third line']);
    expect(main.stdout.endsWith('third line\n')).toBe(true);
    expect(await kubectl(['logs', 'talker', '-c', 'main', '--tail=1'])).toMatchObject({
      stdout: 'third line\n',
    });
    expect(await kubectl(['logs', 'talker', '-c', 'side'])).toMatchObject({
      code: 0,
      stdout: 'side says hi\n',
    });
    const stamped = await kubectl(['logs', 'talker', '-c', 'side', '--timestamps']);
    expect(stamped.stdout).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z side says hi\n$/);

    expect(await kubectl(['logs', 'crasher'])).toMatchObject({ code: 0, stdout: 'run 2\n' });
    expect(await kubectl(['logs', 'crasher', '--previous'])).toMatchObject({ code: 0, stdout: 'run 1\n' });
    const noPrevious = await kubectl(['logs', 'talker', '-c', 'side', '--previous']);
    expect(noPrevious.code).not.toBe(0);
    expect(noPrevious.stderr).toContain('previous terminated container "side" in pod "talker" not found');

    const echo = await kubectl(['logs', 'echo']);
    expect(echo.stdout).toContain('echo-http listening on 8080');
  });

  it('kubectl logs -f streams lines as they come and ends when the container exits', async () => {
    const counted = pod('counter', 'node-0', {
      restartPolicy: 'Never',
      containers: [
        {
          name: 'c',
          image: 'busybox',
          command: ['sh', '-c', 'sleep 1; for i in 1 2 3 4; do echo count $i; sleep 0.5; done'],
        },
      ],
    });
    await kubectl(['apply', '-f', '-'], JSON.stringify(counted));
    const core = kc.makeApiClient(CoreV1Api);
    await waitFor('counter running', async () => {
      const p = await core.readNamespacedPod({ namespace: NS, name: 'counter' });
      return p.status?.containerStatuses?.[0]?.state?.running !== undefined ? true : undefined;
    });
    const t = performance.now();
    const follow = spawn('kubectl', ['--kubeconfig', kubeconfig, 'logs', '-f', 'counter'], { stdio: 'pipe' });
    children.push(follow);
    const lines: { line: string; ms: number }[] = [];
    createInterface({ input: follow.stdout }).on('line', (line) =>
      lines.push({ line, ms: Math.round(performance.now() - t) }),
    );
    const timer = setTimeout(() => follow.kill('SIGKILL'), 20_000);
    const [code] = (await once(follow, 'close')) as [number | null];
    clearTimeout(timer);
    measured.followLines = lines;
    expect(code).toBe(0);
    expect(lines.map((l) => l.line)).toEqual(['count 1', 'count 2', 'count 3', 'count 4']);
    // Streamed, not read once at the end: the first line arrived well before the last.
    expect((lines[3]?.ms ?? 0) - (lines[0]?.ms ?? 0)).toBeGreaterThan(1000);
  });

  it('kubectl port-forward: host loopback to the echo pod on the other node', async () => {
    const t = performance.now();
    const fwd = spawn('kubectl', ['--kubeconfig', kubeconfig, 'port-forward', 'pod/echo', ':8080'], {
      stdio: 'pipe',
    });
    children.push(fwd);
    const localPort = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no "Forwarding from" line within 15 s')), 15_000);
      createInterface({ input: fwd.stdout }).on('line', (line) => {
        const m = /^Forwarding from 127\.0\.0\.1:(\d+) -> 8080$/.exec(line);
        if (m?.[1] !== undefined) {
          clearTimeout(timer);
          resolve(Number(m[1]));
        }
      });
      fwd.once('exit', (c) => reject(new Error(`kubectl port-forward exited ${String(c)}`)));
    });
    try {
      for (const path of ['/first', '/second']) {
        const res = await fetch(`http://127.0.0.1:${localPort}${path}`, {
          signal: AbortSignal.timeout(10_000),
        });
        expect(res.status).toBe(200);
        const body = (await res.json()) as { path: string; hostname: string; source: { address: string } };
        expect(body.path).toBe(path);
        expect(body.hostname).toBe('echo');
        // As with containerd: the kubelet dials localhost inside the pod's netns.
        expect(body.source.address).toBe('127.0.0.1');
      }
      measured.portForwardMs = Math.round(performance.now() - t);
    } finally {
      fwd.kill('SIGTERM');
      await once(fwd, 'close');
    }
  });

  it('answers only the apiserver: another client certificate of the same CA is forbidden', async () => {
    if (box === undefined) throw new Error('no box');
    const pki = box.cluster.pki;
    const [ca, kubeletClientCert, kubeletClientKey, adminCert, adminKey] = await Promise.all(
      [
        pki.caCert,
        pki.apiserverKubeletClientCert,
        pki.apiserverKubeletClientKey,
        pki.adminCert,
        pki.adminKey,
      ].map((p) => readFile(p, 'utf8')),
    );
    const node = box.nodes[0];
    if (node === undefined) throw new Error('no node');
    const get = (cert: string | undefined, key: string | undefined): Promise<number | string> =>
      new Promise((resolve) => {
        const req = request(
          { host: node.ip, port: KUBELET_PORT, path: '/healthz', ca, cert, key, timeout: 5_000 },
          (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          },
        );
        req.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
        req.end();
      });
    // The serving certificate verifies against the cluster CA for the node's IP (as the apiserver checks it).
    expect(await get(kubeletClientCert, kubeletClientKey)).toBe(200);
    expect(await get(adminCert, adminKey)).toBe(403);
    expect(await get(undefined, undefined)).not.toBe(200);
  });

  it('stops, leaving no kubelet server and exactly the host it found', async () => {
    if (box === undefined) throw new Error('no box');
    const workDir = box.workDir;
    const servers = (await processesMentioning(workDir)).filter((p) => p.includes('kubelet-server'));
    expect(servers).toHaveLength(2);
    const t = performance.now();
    await box.stop();
    measured.stopMs = Math.round(performance.now() - t);
    box = undefined;
    expect(await processesMentioning(workDir)).toEqual([]);
    expect(boxDifferences(BOX, before, await snapshotHost())).toEqual([]);
  }, 60_000);
});
