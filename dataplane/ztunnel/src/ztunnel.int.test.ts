// The secure overlay through real network namespaces (issue 5 acceptance): two nodes and their pods made by the
// Debian CNI plugins (bridge + host-local) exactly as the fake kubelet makes them, the node agent's in-pod rules,
// two ztunnels (in this process, one per node) reaching into the pods' netns through the native addon, HBONE with
// certificates from the real CA. The test process plays the apps: its sockets are made inside the pods' netns
// without the proxy mark, so the pods' iptables rules capture them as they would an app's.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { execFile } from 'node:child_process';
import type { ProxyState, Workload } from '@ambit/config';
import { createSandbox, removeSandbox, type Sandbox } from '@ambit/e2e/kubelet';
import { connectSocket, openListener } from '@ambit/native';
import { NetnsRules } from '@ambit/node-agent';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CertManager } from './identity/cert-manager.ts';
import { nativeSockets } from './proxy/sockets.ts';
import { Ztunnel, type HandedPod } from './proxy/ztunnel.ts';
import { ZtunnelMetrics } from './telemetry/metrics.ts';
import { localCa } from './testing/local-ca.ts';
import { policy, state, workload } from './testing/records.ts';

const run = promisify(execFile);
const TAG = `azt${process.pid % 10000}`;
const NODE_A = `${TAG}-na`;
const NODE_B = `${TAG}-nb`;
const CIDR_A = '10.251.1.0/24';
const CIDR_B = '10.251.2.0/24';
const APP_PORT = 8080;
const MARKER = Buffer.from('AMBIT-PLAINTEXT-MARKER-'.repeat(44)); // ~1 KiB, easy to spot in a capture

const ip = (netns: string, ...args: string[]) => run('ip', ['netns', 'exec', netns, ...args]);

async function nodeLink(): Promise<void> {
  for (const n of [NODE_A, NODE_B]) {
    await run('ip', ['netns', 'add', n]);
    await ip(n, 'ip', 'link', 'set', 'lo', 'up');
    await ip(n, 'sysctl', '-qw', 'net.ipv4.ip_forward=1');
  }
  await run('ip', [
    'link',
    'add',
    `${TAG}a`,
    'netns',
    NODE_A,
    'type',
    'veth',
    'peer',
    `${TAG}b`,
    'netns',
    NODE_B,
  ]);
  await ip(NODE_A, 'ip', 'addr', 'add', '172.31.250.1/30', 'dev', `${TAG}a`);
  await ip(NODE_B, 'ip', 'addr', 'add', '172.31.250.2/30', 'dev', `${TAG}b`);
  await ip(NODE_A, 'ip', 'link', 'set', `${TAG}a`, 'up');
  await ip(NODE_B, 'ip', 'link', 'set', `${TAG}b`, 'up');
  await ip(NODE_A, 'ip', 'route', 'add', CIDR_B, 'via', '172.31.250.2');
  await ip(NODE_B, 'ip', 'route', 'add', CIDR_A, 'via', '172.31.250.1');
}

/** A hash server in a pod's netns: answers the sha256 of what it read once the client half-closes. */
function hashServer(netnsPath: string): net.Server {
  return net
    .createServer({ allowHalfOpen: true }, (s) => {
      const h = createHash('sha256');
      s.on('data', (d: Buffer) => h.update(d));
      s.on('end', () => s.end(h.digest('hex')));
      s.on('error', () => undefined);
    })
    .listen({ fd: openListener({ netnsPath, host: '0.0.0.0', port: APP_PORT }) });
}

/** An app connection from inside `from`'s netns (no proxy mark: the pod's rules capture it). */
async function appDial(from: Sandbox, host: string, port = APP_PORT): Promise<net.Socket> {
  const s = await connectSocket({
    netnsPath: `/var/run/netns/${from.netns ?? ''}`,
    host,
    port,
    allowHalfOpen: true,
  });
  s.on('error', () => undefined);
  return s;
}

async function exchange(s: net.Socket, payload: Buffer | (() => Iterable<Buffer>)): Promise<string> {
  const chunks: Buffer[] = [];
  s.on('data', (d: Buffer) => chunks.push(d));
  const closed = new Promise<void>((resolve, reject) => {
    s.once('end', () => resolve());
    s.once('error', reject);
  });
  if (Buffer.isBuffer(payload)) s.end(payload);
  else {
    for (const chunk of payload()) if (!s.write(chunk)) await once(s, 'drain');
    s.end();
  }
  await closed;
  return Buffer.concat(chunks).toString();
}

/** Resolves with the error code the connection ended with ('' when it ended cleanly). */
async function outcome(s: net.Socket, data = 'hello'): Promise<string> {
  return new Promise((resolve) => {
    s.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
    s.once('end', () => resolve(''));
    s.end(data);
    s.resume();
  });
}

describe('ztunnel through network namespaces', { timeout: 180_000 }, () => {
  let work: string;
  const pods: Record<string, Sandbox> = {};
  const servers: net.Server[] = [];
  const logs: string[] = [];
  const rules = new NetnsRules();
  let za: Ztunnel;
  let zb: Ztunnel;
  let metricsB: ZtunnelMetrics;
  let records: Record<string, Workload> = {};
  let config: (extra?: {
    policies?: Parameters<typeof state>[0]['policies'];
    workloads?: Workload[];
  }) => ProxyState;

  const netnsOf = (name: string) => `/var/run/netns/${pods[name]?.netns ?? ''}`;
  const podIp = (name: string) => pods[name]?.podIP ?? '';
  const handed = (name: string): HandedPod => {
    const w = records[name] as Workload;
    return { uid: w.uid, namespace: w.namespace, name: w.name, netns: netnsOf(name), ips: [podIp(name)] };
  };
  const push = (s: ProxyState) => {
    za.update(s);
    zb.update(s);
  };

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), `${TAG}-`));
    await nodeLink();
    const layout: [string, string, string][] = [
      ['sleep', NODE_A, CIDR_A],
      ['other', NODE_A, CIDR_A],
      ['notsleep', NODE_B, CIDR_B],
      ['outside', NODE_B, CIDR_B],
    ];
    let n = 0;
    for (const [name, node, cidr] of layout) {
      const uid = `${(0xa2700000 + ++n).toString(16)}-0000-4000-8000-${String(process.pid).padStart(12, '0')}`;
      pods[name] = await createSandbox({
        nodeNetns: node,
        pod: { namespace: 'demo', name, uid },
        podCidr: cidr,
        workDir: join(work, name),
        ipamDataDir: join(work, `ipam-${node}`),
        netnsPrefix: `${TAG}p`,
      });
      records[name] = workload(name, {
        uid,
        namespace: 'demo',
        addresses: [pods[name].podIP],
        node: node === NODE_A ? 'node-a' : 'node-b',
        protocol: name === 'outside' ? 'NONE' : 'HBONE',
      });
    }
    config = (extra = {}) =>
      state({
        workloads: Object.values(records).map((w) => extra.workloads?.find((x) => x.uid === w.uid) ?? w),
        policies: extra.policies ?? [],
      });
    const ca = await localCa();
    const make = (node: string, metrics: ZtunnelMetrics) =>
      new Ztunnel({
        node,
        sockets: nativeSockets,
        certs: new CertManager({ source: ca }),
        metrics,
        log: (l) => logs.push(`${node}: ${l}`),
      });
    za = make('node-a', new ZtunnelMetrics());
    metricsB = new ZtunnelMetrics();
    zb = make('node-b', metricsB);
    push(config());
    for (const name of ['sleep', 'other', 'notsleep', 'outside']) servers.push(hashServer(netnsOf(name)));
    // The node agent's part: rules in every enrolled pod, then the handover to its node's ztunnel.
    for (const name of ['sleep', 'other', 'notsleep']) await rules.apply(netnsOf(name));
    await za.addPod(handed('sleep'));
    await za.addPod(handed('other'));
    await zb.addPod(handed('notsleep'));
  });

  afterAll(async () => {
    if (logs.length) console.log(logs.slice(-30).join('\n'));
    await za?.drain(0);
    await zb?.drain(0);
    for (const s of servers) s.close();
    for (const p of Object.values(pods)) await removeSandbox(p).catch(() => undefined);
    for (const n of [NODE_A, NODE_B]) await run('ip', ['netns', 'delete', n]).catch(() => undefined);
    await rm(work, { recursive: true, force: true });
  });

  it('carries 100 MB pod→pod across nodes intact, and only TLS on HBONE crosses between the nodes', async () => {
    const pcap = join(work, 'link.pcap');
    const capture = spawn(
      'ip',
      ['netns', 'exec', NODE_A, 'tcpdump', '-i', `${TAG}a`, '-s', '256', '-U', '-w', pcap],
      {
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    let captureLog = '';
    capture.stderr.on('data', (d: Buffer) => (captureLog += d.toString()));
    await new Promise<void>((resolve) => {
      const check = () => (captureLog.includes('listening') ? resolve() : setTimeout(check, 50));
      check();
    });
    const total = 100 * 1024 * 1024;
    const hash = createHash('sha256');
    const payload = function* () {
      for (let sent = 0; sent < total; sent += MARKER.length * 64) {
        const chunk = Buffer.concat(Array<Buffer>(64).fill(MARKER)).subarray(
          0,
          Math.min(MARKER.length * 64, total - sent),
        );
        hash.update(chunk);
        yield chunk;
      }
    };
    const started = Date.now();
    const answer = await exchange(await appDial(pods.sleep!, podIp('notsleep')), payload);
    console.log(`100 MB sleep→notsleep through two ztunnels in ${Date.now() - started} ms`);
    expect(answer).toBe(hash.digest('hex'));
    capture.kill('SIGINT');
    await once(capture, 'exit');
    const { stdout: plain } = await run('tcpdump', ['-r', pcap, '-nn', 'tcp and not port 15008'], {
      maxBuffer: 64 << 20,
    });
    expect(plain.trim()).toBe('');
    const { stdout: ascii } = await run('tcpdump', ['-r', pcap, '-nn', '-A'], { maxBuffer: 512 << 20 });
    expect(ascii).toContain('.15008');
    expect(ascii).not.toContain('AMBIT-PLAINTEXT-MARKER');
    expect(await metricsB.text()).toMatch(
      /istio_tcp_connections_opened_total\{reporter="destination",source_workload="sleep".*connection_security_policy="mutual_tls"\} 1/,
    );
  });

  it('delivers same-node traffic locally, with policy', async () => {
    expect(await exchange(await appDial(pods.sleep!, podIp('other')), Buffer.from('local'))).toBe(
      createHash('sha256').update('local').digest('hex'),
    );
  });

  it('passes traffic to a pod outside the mesh through as plain TCP', async () => {
    expect(await exchange(await appDial(pods.sleep!, podIp('outside')), Buffer.from('plain'))).toBe(
      createHash('sha256').update('plain').digest('hex'),
    );
  });

  it('enforces L4 policy: ALLOW only sa/sleep resets sa/other; DENY by namespace and by port', async () => {
    const only = {
      ...policy('demo/only-sleep', 'Allow', [{ principals: ['cluster.local/ns/demo/sa/sleep'] }]),
    };
    push(config({ policies: [only] }));
    expect(await outcome(await appDial(pods.other!, podIp('notsleep')))).toBe('ECONNRESET');
    expect(await outcome(await appDial(pods.sleep!, podIp('notsleep')))).toBe('');
    expect(logs.join('\n')).toMatch(/demo\/sa\/other .* denied: no ALLOW policy matches/);

    push(config({ policies: [policy('demo/no-demo', 'Deny', [{ namespaces: ['demo'] }])] }));
    expect(await outcome(await appDial(pods.sleep!, podIp('notsleep')))).toBe('ECONNRESET');
    push(config({ policies: [policy('demo/no-8080', 'Deny', [{ destinationPorts: [APP_PORT] }])] }));
    expect(await outcome(await appDial(pods.sleep!, podIp('notsleep')))).toBe('ECONNRESET');
    expect(logs.join('\n')).toContain('denied by DENY policy demo/no-8080');
    push(config());
  });

  it('rejects plaintext into a STRICT pod and admits it under PERMISSIVE', async () => {
    expect(await outcome(await appDial(pods.outside!, podIp('notsleep')))).toBe('');
    const strict = { ...(records.notsleep as Workload), mtls: { mode: 'STRICT' as const, ports: {} } };
    push(config({ workloads: [strict] }));
    expect(await outcome(await appDial(pods.outside!, podIp('notsleep')))).toBe('ECONNRESET');
    expect(logs.join('\n')).toContain('denied: STRICT mTLS requires a peer identity');
    push(config());
  });

  it('enrols and un-enrols a running pod live, while another pod keeps a long-lived connection', async () => {
    const longLived = await appDial(pods.sleep!, podIp('notsleep'));
    const longHash = createHash('sha256');
    const part = Buffer.from('before-');
    longHash.update(part);
    longLived.write(part);

    // Enrol `outside`: the agent's rules, the handover to node-b's ztunnel, and the config marks it HBONE.
    const enrolled = { ...(records.outside as Workload), protocol: 'HBONE' as const };
    records = { ...records, outside: enrolled };
    push(config());
    await rules.apply(netnsOf('outside'));
    await zb.addPod(handed('outside'));
    expect(await outcome(await appDial(pods.outside!, podIp('sleep')))).toBe('');
    expect(await metricsB.text()).toMatch(
      /reporter="source",source_workload="outside".*connection_security_policy="mutual_tls"/,
    );

    // Un-enrol it again: rules removed, ztunnel lets go, plain TCP from now on.
    records = { ...records, outside: { ...enrolled, protocol: 'NONE' } };
    push(config());
    zb.removePod(enrolled.uid);
    await rules.remove(netnsOf('outside'));
    expect(await outcome(await appDial(pods.outside!, podIp('notsleep')))).toBe('');

    const tail = Buffer.from('after');
    longHash.update(tail);
    expect(await exchange(longLived, tail)).toBe(longHash.digest('hex'));
  });
});
