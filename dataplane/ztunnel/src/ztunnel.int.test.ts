// The secure overlay through real network namespaces (issue 5 acceptance): two nodes and their pods made by the
// Debian CNI plugins (bridge + host-local) exactly as the fake kubelet makes them, the node agent's in-pod rules,
// two ztunnels (in this process, one per node) reaching into the pods' netns through the native addon, HBONE with
// certificates from the real CA. The test process plays the apps: its sockets are made inside the pods' netns
// without the proxy mark, so the pods' iptables rules capture them as they would an app's. Once per transport
// (ZTUNNEL_TRANSPORT), each with netns of its own.
import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import net from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import * as pb from '@ambit/codegen/proto';
import { ConfigSubscription, type Workload } from '@ambit/config';
import { ConfigServer, ztunnelScope } from '@ambit/operator/distribute';
import { credentials, Server, ServerCredentials } from '@grpc/grpc-js';
import { connectSocket, openListener } from '@ambit/native';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TRANSPORTS } from './config/settings.ts';
import { policy, service } from './testing/records.ts';
import { startTwoNodes, type TwoNodes } from './testing/two-nodes.ts';

const run = promisify(execFile);
const BASE_TAG = `azt${process.pid % 10000}`;
const APP_PORT = 8080;
const MARKER = Buffer.from('AMBIT-PLAINTEXT-MARKER-'.repeat(44)); // ~1 KiB, easy to spot in a capture

/** A hash server in a pod's netns: answers the sha256 of what it read once the client half-closes. */
function hashServer(netnsPath: string, peers: string[]): net.Server {
  return net
    .createServer({ allowHalfOpen: true }, (s) => {
      peers.push(s.remoteAddress ?? '');
      const h = createHash('sha256');
      s.on('data', (d: Buffer) => h.update(d));
      s.on('end', () => s.end(h.digest('hex')));
      s.on('error', () => undefined);
    })
    .listen({ fd: openListener({ netnsPath, host: '0.0.0.0', port: APP_PORT }) });
}

/** An app connection from inside a pod's netns (no proxy mark: the pod's rules capture it). */
async function appDial(netnsPath: string, host: string, port = APP_PORT): Promise<net.Socket> {
  const s = await connectSocket({
    netnsPath,
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

describe.each(TRANSPORTS.map((transport, i) => [transport, i] as const))(
  'ztunnel through network namespaces, %s transport',
  { timeout: 180_000 },
  (transport, i) => {
    const TAG = `${BASE_TAG}${i}`;
    let t: TwoNodes;
    const servers: net.Server[] = [];
    /** The source address each pod's server saw, per connection. */
    const peers: Record<string, string[]> = {};
    const from = (pod: string) => t.netnsPath(pod);
    const podIp = (pod: string) => t.podIp(pod);

    beforeAll(async () => {
      t = await startTwoNodes(
        TAG,
        [
          { name: 'sleep', node: 'a', enrolled: true },
          { name: 'other', node: 'a', enrolled: true },
          { name: 'notsleep', node: 'b', enrolled: true },
          { name: 'outside', node: 'b', enrolled: false },
        ],
        { transport },
      );
      for (const name of ['sleep', 'other', 'notsleep', 'outside']) {
        peers[name] = [];
        servers.push(hashServer(t.netnsPath(name), peers[name]));
      }
    });

    afterAll(async () => {
      if (t?.logs.length) console.log(t.logs.slice(-30).join('\n'));
      for (const s of servers) s.close();
      await t?.close();
    });

    it('carries 100 MB pod→pod across nodes intact, and only TLS on HBONE crosses between the nodes', async () => {
      const pcap = join(t.work, 'link.pcap');
      const capture = spawn(
        'ip',
        ['netns', 'exec', t.nodeNetns('a'), 'tcpdump', '-i', `${TAG}a`, '-s', '256', '-U', '-w', pcap],
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
      const answer = await exchange(await appDial(from('sleep'), podIp('notsleep')), payload);
      console.log(`100 MB sleep→notsleep through two ztunnels (${transport}) in ${Date.now() - started} ms`);
      expect(answer).toBe(hash.digest('hex'));
      // Delivered from the caller's own address (IP_TRANSPARENT), not the ztunnel's.
      expect(peers.notsleep).toEqual([podIp('sleep')]);
      capture.kill('SIGINT');
      await once(capture, 'exit');
      const { stdout: plain } = await run('tcpdump', ['-r', pcap, '-nn', 'tcp and not port 15008'], {
        maxBuffer: 64 << 20,
      });
      expect(plain.trim()).toBe('');
      const { stdout: ascii } = await run('tcpdump', ['-r', pcap, '-nn', '-A'], { maxBuffer: 512 << 20 });
      expect(ascii).toContain('.15008');
      expect(ascii).not.toContain('AMBIT-PLAINTEXT-MARKER');
      expect(await t.metricsB.text()).toMatch(
        /istio_tcp_connections_opened_total\{reporter="destination",source_workload="sleep".*connection_security_policy="mutual_tls"\} 1/,
      );
    });

    it("delivers same-node traffic locally, from the caller's address", async () => {
      expect(await exchange(await appDial(from('sleep'), podIp('other')), Buffer.from('local'))).toBe(
        createHash('sha256').update('local').digest('hex'),
      );
      expect(peers.other).toEqual([podIp('sleep')]);
      expect(await t.metricsA.text()).toMatch(
        /reporter="destination",source_workload="sleep".*destination_workload="other"/,
      );
    });

    it('resolves a Service VIP to an endpoint and its target port', async () => {
      t.push({
        services: [
          service('notsleep', {
            namespace: 'demo',
            vips: ['10.96.0.50'],
            ports: [{ name: 'http', port: 80, protocol: 'TCP' }],
            endpoints: [{ workloadUid: t.workload('notsleep').uid, ports: { 80: APP_PORT }, ready: true }],
          }),
        ],
      });
      const before = peers.notsleep?.length ?? 0;
      expect(await exchange(await appDial(from('sleep'), '10.96.0.50', 80), Buffer.from('vip'))).toBe(
        createHash('sha256').update('vip').digest('hex'),
      );
      expect(peers.notsleep?.length).toBe(before + 1);
      t.push();
    });

    it('passes traffic to a pod outside the mesh through as plain TCP', async () => {
      expect(await exchange(await appDial(from('sleep'), podIp('outside')), Buffer.from('plain'))).toBe(
        createHash('sha256').update('plain').digest('hex'),
      );
    });

    it('enforces L4 policy: ALLOW only sa/sleep resets sa/other; DENY by namespace and by port', async () => {
      const only = {
        ...policy('demo/only-sleep', 'Allow', [{ principals: ['cluster.local/ns/demo/sa/sleep'] }]),
      };
      t.push({ policies: [only] });
      expect(await outcome(await appDial(from('other'), podIp('notsleep')))).toBe('ECONNRESET');
      expect(await outcome(await appDial(from('sleep'), podIp('notsleep')))).toBe('');
      expect(t.logs.join('\n')).toMatch(/demo\/sa\/other .* denied: no ALLOW policy matches/);

      t.push({ policies: [policy('demo/no-demo', 'Deny', [{ namespaces: ['demo'] }])] });
      expect(await outcome(await appDial(from('sleep'), podIp('notsleep')))).toBe('ECONNRESET');
      t.push({ policies: [policy('demo/no-8080', 'Deny', [{ destinationPorts: [APP_PORT] }])] });
      expect(await outcome(await appDial(from('sleep'), podIp('notsleep')))).toBe('ECONNRESET');
      expect(t.logs.join('\n')).toContain('denied by DENY policy demo/no-8080');
      t.push();
    });

    it('rejects plaintext into a STRICT pod and admits it under PERMISSIVE', async () => {
      expect(await outcome(await appDial(from('outside'), podIp('notsleep')))).toBe('');
      const strict = { ...t.workload('notsleep'), mtls: { mode: 'STRICT' as const, ports: {} } };
      t.push({ workloads: [strict] });
      expect(await outcome(await appDial(from('outside'), podIp('notsleep')))).toBe('ECONNRESET');
      expect(t.logs.join('\n')).toContain('denied: STRICT mTLS requires a peer identity');
      t.push();
    });

    it('enrols and un-enrols a running pod live, while another pod keeps a long-lived connection', async () => {
      const longLived = await appDial(from('sleep'), podIp('notsleep'));
      const longHash = createHash('sha256');
      const part = Buffer.from('before-');
      longHash.update(part);
      longLived.write(part);

      // Enrol `outside`: the agent's rules, the handover to node-b's ztunnel, and the config marks it HBONE.
      const enrolled: Workload = { ...t.workload('outside'), protocol: 'HBONE' };
      t.setWorkload(enrolled);
      t.push();
      await t.enrol('outside');
      expect(await outcome(await appDial(from('outside'), podIp('sleep')))).toBe('');
      expect(await t.metricsB.text()).toMatch(
        /reporter="source",source_workload="outside".*connection_security_policy="mutual_tls"/,
      );

      // Un-enrol it again: rules removed, ztunnel lets go, plain TCP from now on.
      t.setWorkload({ ...enrolled, protocol: 'NONE' });
      t.push();
      await t.unenrol('outside');
      expect(await outcome(await appDial(from('outside'), podIp('notsleep')))).toBe('');

      const tail = Buffer.from('after');
      longHash.update(tail);
      expect(await exchange(longLived, tail)).toBe(longHash.digest('hex'));
    });

    it('keeps serving existing and new connections on its last config when the control plane stops', async () => {
      const cs = new ConfigServer({
        admit: (_token, hello) => Promise.resolve({ kind: 'ztunnel', name: hello.node }),
        scope: (sub, c) => ztunnelScope(c, sub.name),
      });
      const server = new Server();
      server.addService(pb.ConfigDiscoveryServiceService, { subscribe: cs.subscribe });
      const port = await new Promise<number>((resolve, reject) =>
        server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (e, p) =>
          e ? reject(e) : resolve(p),
        ),
      );
      cs.update(t.push());
      const subscriptions = (['node-a', 'node-b'] as const).map((node) => {
        const sub: ConfigSubscription = new ConfigSubscription({
          client: new pb.ConfigDiscoveryServiceClient(`127.0.0.1:${port}`, credentials.createInsecure()),
          hello: {
            kind: pb.ProxyKind.PROXY_KIND_ZTUNNEL,
            node,
            waypoint: '',
            gateway: '',
            protocolVersion: 1,
          },
          token: () => Promise.resolve('test'),
          onUpdate: (state) => (node === 'node-a' ? t.za : t.zb).update(state),
          initialBackoffMs: 50,
        });
        sub.start();
        return sub;
      });
      try {
        const end = Date.now() + 10_000;
        while (subscriptions.some((s) => s.state.version !== cs.version) && Date.now() < end) {
          await new Promise((r) => setTimeout(r, 20));
        }
        expect(subscriptions.map((s) => s.state.version)).toEqual([cs.version, cs.version]);
        const longLived = await appDial(from('sleep'), podIp('notsleep'));
        longLived.write('before-');

        server.forceShutdown();
        await new Promise((r) => setTimeout(r, 300));
        expect(subscriptions.every((s) => !s.connected)).toBe(true);
        expect(await outcome(await appDial(from('sleep'), podIp('notsleep')))).toBe('');
        expect(await exchange(longLived, Buffer.from('after'))).toBe(
          createHash('sha256').update('before-after').digest('hex'),
        );
      } finally {
        for (const s of subscriptions) s.stop();
        server.forceShutdown();
      }
    });
  },
);
