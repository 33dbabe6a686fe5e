// Two ztunnels in-process on loopback (STYLE §13: the proxy logic with real TLS, real HBONE and the real CA; pod
// network namespaces are faked by one loopback address per pod), once per transport. The netns version is
// ztunnel.int.test.ts.
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import type { Workload } from '@ambit/config';
import { HboneClient, HboneError } from '@ambit/hbone';
import type { Endpoint } from '@ambit/native';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TRANSPORTS } from '../config/settings.ts';
import { CertManager } from '../identity/cert-manager.ts';
import { spiffeIdOf } from '../state/index-state.ts';
import { localCa, type LocalCa } from '../testing/local-ca.ts';
import { policy, state, workload } from '../testing/records.ts';
import { ZtunnelMetrics } from '../telemetry/metrics.ts';
import { parseHostPort } from './core.ts';
import type { NativePodNetwork } from './native-transport.ts';
import type { Sockets } from './sockets.ts';
import { tlsMaterial } from './tls-material.ts';
import { Ztunnel, type HandedPod } from './ztunnel.ts';

const SLEEP = workload('sleep', { namespace: 'demo', addresses: ['127.0.10.1'], node: 'node-a' });
const OTHER = workload('other', { namespace: 'demo', addresses: ['127.0.10.2'], node: 'node-a' });
const NOTSLEEP = workload('notsleep', { namespace: 'demo', addresses: ['127.0.20.1'], node: 'node-b' });
/** A waypoint (its ServiceAccount named like its Gateway, demo/waypoint) and a workload that is not one. */
const WAYPOINT = workload('waypoint', { namespace: 'demo', addresses: ['127.0.20.9'], node: 'node-b' });
const IMPOSTER = workload('imposter', { namespace: 'demo', addresses: ['127.0.10.3'], node: 'node-a' });
/** What the waypoint sends for sa/sleep (dataplane/waypoint `sourceBaggage`). */
const SLEEP_BAGGAGE =
  'k8s.source.principal=spiffe://cluster.local/ns/demo/sa/sleep,k8s.source.namespace=demo,k8s.source.workload=sleep';
const BASE = 21000 + (process.pid % 1000) * 10;

function pod(w: typeof SLEEP): HandedPod {
  return { uid: w.uid, namespace: w.namespace, name: w.name, netns: `ns-${w.name}`, ips: w.addresses };
}

/** The same for the native transport: listeners on the pod's address, dials from anywhere, unmarked. */
function fakeNetwork(destinations: Map<number, Endpoint>): NativePodNetwork {
  return {
    listen: (pod, port) => ({ host: pod.ips[0] ?? '127.0.0.1', port }),
    dial: () => ({}),
    destination: (c) => {
      const d = destinations.get(parseHostPort(c.sourceAddress)?.port ?? 0);
      return d && { ip: d.host, port: d.port };
    },
  };
}

/** One loopback address per "netns"; original destinations registered by the client's port before it dials. */
function fakeSockets(destinations: Map<number, Endpoint>): Sockets {
  const ipOf = (netns: string | undefined) =>
    [SLEEP, OTHER, NOTSLEEP].find((w) => `ns-${w.name}` === netns)?.addresses[0] ?? '127.0.0.1';
  return {
    listen: (o) => net.createServer({ allowHalfOpen: true }).listen(o.port, ipOf(o.netnsPath)),
    connect: async (o) => {
      const s = net.connect({
        host: o.host,
        port: o.port,
        localAddress: ipOf(o.netnsPath),
        allowHalfOpen: true,
      });
      await once(s, 'connect');
      return s;
    },
    originalDestination: (s) => {
      const d = destinations.get(s.remotePort ?? 0);
      if (!d) throw new Error('no original destination');
      return d;
    },
  };
}

/** An echo server that answers with the sha256 of what it got once the client half-closes. */
function hashServer(host: string, port: number): Promise<net.Server> {
  const server = net.createServer({ allowHalfOpen: true }, (s) => {
    const h = createHash('sha256');
    s.on('data', (d: Buffer) => h.update(d));
    s.on('end', () => s.end(h.digest('hex')));
    s.on('error', () => undefined);
  });
  return new Promise((r) => server.listen(port, host, () => r(server)));
}

/** Polls `check` until it holds, for at most 5 s (DESIGN §8: deadlines polled, never sleeps). */
async function eventually(check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}

let clientPort = 40000 + (process.pid % 500) * 40;

describe.each(TRANSPORTS.map((t, i) => [t, i] as const))(
  'Ztunnel on loopback, %s transport',
  { timeout: 30_000 },
  (transport, i) => {
    // Each transport its own ports: the other's listeners may not have let go of theirs yet.
    const APP_PORT = 18080 + i;
    const OUTSIDE = { host: '127.0.30.1', port: 18090 + i };
    const PORTS = { outbound: BASE + 3 * i, inboundPlain: BASE + 3 * i + 1, hbone: BASE + 3 * i + 2 };
    const destinations = new Map<number, Endpoint>();
    const logs: string[] = [];
    let ca: LocalCa;
    let a: Ztunnel;
    let b: Ztunnel;
    let metricsA: ZtunnelMetrics;
    let metricsB: ZtunnelMetrics;
    const servers: net.Server[] = [];

    /** Connects from `from`'s IP to its outbound listener as if the app had dialled `dst`. */
    async function dial(from: typeof SLEEP, dst: Endpoint): Promise<net.Socket> {
      const port = clientPort++;
      destinations.set(port, dst);
      const s = net.connect({
        host: from.addresses[0],
        port: PORTS.outbound,
        localAddress: from.addresses[0],
        localPort: port,
        allowHalfOpen: true,
      });
      await once(s, 'connect');
      return s;
    }

    async function sendAndHash(s: Duplex, payload: Buffer): Promise<string> {
      const chunks: Buffer[] = [];
      s.on('data', (d: Buffer) => chunks.push(d));
      s.end(payload);
      await once(s, 'end');
      return Buffer.concat(chunks).toString();
    }

    /** Closed connections from sleep to notsleep, and their bytes, as one ztunnel's metrics count them. */
    async function carried(metrics: ZtunnelMetrics, reporter: string) {
      const sum = async (name: string) => {
        const metric = await metrics.registry.getSingleMetric(name)?.get();
        return (metric?.values ?? [])
          .filter(
            (v) =>
              v.labels.reporter === reporter &&
              v.labels.source_workload === 'sleep' &&
              v.labels.destination_workload === 'notsleep',
          )
          .reduce((n, v) => n + v.value, 0);
      };
      return {
        closed: await sum('istio_tcp_connections_closed_total'),
        received: await sum('istio_tcp_received_bytes_total'),
        sent: await sum('istio_tcp_sent_bytes_total'),
      };
    }

    const records = (extra: Parameters<typeof state>[0] = {}) =>
      state({
        workloads: [SLEEP, OTHER, NOTSLEEP, ...(extra.workloads ?? [])],
        policies: extra.policies ?? [],
      });

    beforeAll(async () => {
      ca = await localCa();
      const make = (node: string, metrics: ZtunnelMetrics) =>
        new Ztunnel({
          node,
          sockets: fakeSockets(destinations),
          certs: new CertManager({ source: ca }),
          metrics,
          ports: PORTS,
          preserveSourceIp: false,
          transport,
          nativeNetwork: fakeNetwork(destinations),
          log: (l) => logs.push(`${node}: ${l}`),
        });
      metricsA = new ZtunnelMetrics();
      a = make('node-a', metricsA);
      metricsB = new ZtunnelMetrics();
      b = make('node-b', metricsB);
      for (const z of [a, b]) z.update(records());
      await a.addPod(pod(SLEEP));
      await a.addPod(pod(OTHER));
      await b.addPod(pod(NOTSLEEP));
      servers.push(await hashServer('127.0.20.1', APP_PORT), await hashServer(OUTSIDE.host, OUTSIDE.port));
    });

    afterAll(async () => {
      await a.drain(0);
      await b.drain(0);
      for (const s of servers) s.close();
    });

    it('carries bytes intact across nodes over HBONE, counted as mutual TLS by the destination', async () => {
      const payload = randomBytes(8 * 1024 * 1024);
      const s = await dial(SLEEP, { host: '127.0.20.1', port: APP_PORT });
      expect(await sendAndHash(s, payload)).toBe(createHash('sha256').update(payload).digest('hex'));
      const text = await metricsB.text();
      expect(text).toMatch(
        /istio_tcp_connections_opened_total\{reporter="destination",source_workload="sleep".*connection_security_policy="mutual_tls"\} 1/,
      );
      // Once closed, both ends count it with its bytes: the request as received, the 64-byte answer as sent.
      const ended = { closed: 1, received: payload.length, sent: 64 };
      await eventually(async () => (await carried(metricsA, 'source')).closed === 1);
      expect(await carried(metricsA, 'source')).toEqual(ended);
      expect(await carried(metricsB, 'destination')).toEqual(ended);
    });

    it('resets a connection an ALLOW policy does not admit, and logs the decision', async () => {
      const only = policy('demo/only-sleep', 'Allow', [{ principals: ['cluster.local/ns/demo/sa/sleep'] }]);
      const withPolicy = records({ policies: [only] });
      const withSelector = {
        ...withPolicy,
        workloads: new Map(
          [...withPolicy.workloads].map(([k, w]) => [
            k,
            w.uid === NOTSLEEP.uid ? { ...w, authorizationPolicies: ['demo/only-sleep'] } : w,
          ]),
        ),
      };
      const selected = {
        ...withSelector,
        authorizations: new Map([['demo/only-sleep', { ...only, scope: 'WorkloadSelector' as const }]]),
      };
      a.update(selected);
      b.update(selected);
      const denied = await dial(OTHER, { host: '127.0.20.1', port: APP_PORT });
      denied.write('hello');
      const [err] = (await once(denied, 'error')) as [NodeJS.ErrnoException];
      expect(err.code).toBe('ECONNRESET');
      expect(logs.join('\n')).toContain('denied: no ALLOW policy matches');
      const allowed = await dial(SLEEP, { host: '127.0.20.1', port: APP_PORT });
      expect(await sendAndHash(allowed, Buffer.from('x'))).toHaveLength(64);
      a.update(records());
      b.update(records());
    });

    it('closes an open connection that a new DENY no longer allows', async () => {
      const s = await dial(SLEEP, { host: '127.0.20.1', port: APP_PORT });
      s.write('still open');
      await new Promise((r) => setTimeout(r, 200));
      s.on('error', () => undefined);
      const closed = new Promise((r) => s.on('close', r));
      b.update(
        records({
          policies: [policy('demo/deny-sleep', 'Deny', [{ principals: ['cluster.local/ns/demo/sa/sleep'] }])],
        }),
      );
      await closed;
      expect(logs.join('\n')).toContain('policy-late-rejection');
      b.update(records());
    });

    describe('a caller forwarded by a waypoint (docs/identity-behind-waypoint.md)', () => {
      // An HBONE client in the test process stands in for the waypoint's (or another workload's) second hop: real
      // TLS with a certificate from the mesh CA, from the peer's own loopback address, to node-b's listener.
      const hbone = new HboneClient();
      /** NOTSLEEP fronted by demo/waypoint: that names the waypoint's identity in node-b's config. */
      const fronted = (policies: Parameters<typeof state>[0]['policies'] = []) =>
        records({
          workloads: [WAYPOINT, IMPOSTER, { ...NOTSLEEP, waypoint: { namespace: 'demo', name: 'waypoint' } }],
          policies,
        });

      /** A CONNECT to notsleep's app port as `peer`: the answer's status (200 after a round trip through the app). */
      async function connectAs(peer: Workload, baggage?: string): Promise<number> {
        let stream: Duplex;
        try {
          stream = await hbone.connect({
            source: {
              ...tlsMaterial(await ca.fetch(spiffeIdOf(peer))),
              identity: spiffeIdOf(peer),
              ip: peer.addresses[0] ?? '',
            },
            destination: {
              address: `127.0.20.1:${APP_PORT}`,
              proxy: `127.0.20.1:${PORTS.hbone}`,
              identities: [spiffeIdOf(NOTSLEEP)],
            },
            headers: baggage !== undefined ? { baggage } : {},
          });
        } catch (err) {
          if (err instanceof HboneError && err.status !== undefined) return err.status;
          throw err;
        }
        expect(await sendAndHash(stream, Buffer.from('x'))).toBe(
          createHash('sha256').update('x').digest('hex'),
        );
        return 200;
      }

      /** Connections node-b opened (reporter destination, to notsleep) whose labels include `labels`. */
      async function opened(labels: Record<string, string>): Promise<number> {
        const metric = await metricsB.registry.getSingleMetric('istio_tcp_connections_opened_total')?.get();
        const want = { reporter: 'destination', destination_workload: 'notsleep', ...labels };
        return (metric?.values ?? [])
          .filter((v) => Object.entries(want).every(([k, x]) => v.labels[k] === x))
          .reduce((n, v) => n + v.value, 0);
      }

      afterAll(async () => {
        await hbone.close();
        b.update(records());
      });

      it('labels metrics with the caller a waypoint forwards, and with the peer itself for any other peer', async () => {
        b.update(fronted());
        const forwarded = {
          source_workload: 'sleep',
          source_canonical_service: 'unknown',
          source_workload_namespace: 'demo',
          source_principal: 'spiffe://cluster.local/ns/demo/sa/sleep',
        };
        const asPeer = (w: Workload) => ({
          source_workload: w.workloadName,
          source_canonical_service: w.canonicalName,
          source_workload_namespace: w.namespace,
          source_principal: spiffeIdOf(w),
        });
        const count = async () => ({
          forwarded: await opened(forwarded),
          waypoint: await opened(asPeer(WAYPOINT)),
          imposter: await opened(asPeer(IMPOSTER)),
        });
        let before = await count();
        expect(await connectAs(WAYPOINT, SLEEP_BAGGAGE)).toBe(200);
        expect(await count()).toEqual({ ...before, forwarded: before.forwarded + 1 });

        before = await count();
        expect(await connectAs(IMPOSTER, SLEEP_BAGGAGE)).toBe(200);
        expect(await count()).toEqual({ ...before, imposter: before.imposter + 1 });

        // From the waypoint: without baggage, and with baggage that is malformed, the peer is the source.
        for (const baggage of [
          undefined,
          `${SLEEP_BAGGAGE},bad=%zz`,
          'k8s.source.principal=spiffe://other.domain/ns/demo/sa/sleep',
          `k8s.source.principal=spiffe://cluster.local/ns/demo/sa/sleep,pad=${'x'.repeat(9000)}`,
        ]) {
          before = await count();
          expect(await connectAs(WAYPOINT, baggage)).toBe(200);
          expect(await count()).toEqual({ ...before, waypoint: before.waypoint + 1 });
        }
        // Nothing of what a peer sent in baggage is logged.
        expect(logs.join('\n')).not.toContain('k8s.source');
      });

      it('decides by the peer alone: the same baggage changes no verdict', async () => {
        // The L4 policy users write behind a waypoint: allow the waypoint; here also deny the forwarded caller, which
        // must not fire (the ztunnel never sees it as a peer).
        b.update(
          fronted([
            policy('demo/allow-waypoint', 'Allow', [{ principals: ['cluster.local/ns/demo/sa/waypoint'] }]),
            policy('demo/deny-sleep', 'Deny', [{ principals: ['cluster.local/ns/demo/sa/sleep'] }]),
          ]),
        );
        const claimWaypoint = 'k8s.source.principal=spiffe://cluster.local/ns/demo/sa/waypoint';
        const verdicts = async (peer: Workload) => [
          await connectAs(peer),
          await connectAs(peer, SLEEP_BAGGAGE),
          await connectAs(peer, claimWaypoint),
        ];
        expect(await verdicts(WAYPOINT)).toEqual([200, 200, 200]);
        expect(await verdicts(IMPOSTER)).toEqual([401, 401, 401]);
        expect(logs.join('\n')).toContain('spiffe://cluster.local/ns/demo/sa/imposter (127.0.10.3)');
        expect(logs.join('\n')).not.toContain('k8s.source');
      });
    });

    it('passes plain TCP through to a destination outside the mesh', async () => {
      const s = await dial(SLEEP, OUTSIDE);
      expect(await sendAndHash(s, Buffer.from('plain'))).toBe(
        createHash('sha256').update('plain').digest('hex'),
      );
    });

    it('takes plaintext inbound under PERMISSIVE and resets it under STRICT', async () => {
      const plain = () => {
        const s = net.connect({ host: '127.0.20.1', port: PORTS.inboundPlain, allowHalfOpen: true });
        return s;
      };
      // 15006 delivers to its own local address (TPROXY keeps the original destination): here the pod IP itself,
      // at the listener's port, so PERMISSIVE reaches nothing listening there and is reset after the verdict.
      const strict = records({ workloads: [{ ...NOTSLEEP, mtls: { mode: 'STRICT', ports: {} } }] });
      b.update({
        ...strict,
        workloads: new Map(
          [...strict.workloads].filter(([, w]) => w.name !== 'notsleep' || w.mtls.mode === 'STRICT'),
        ),
      });
      const s = plain();
      s.on('error', () => undefined);
      await new Promise((r) => s.on('close', r));
      expect(logs.join('\n')).toContain('plaintext 127.0.0.1 → 127.0.20.1');
      expect(logs.join('\n')).toContain('denied: STRICT mTLS requires a peer identity');
      b.update(records());
    });

    // Last: it stops both ztunnels.
    it('drains: stops accepting, lets an open connection finish within the grace, then stops', async () => {
      const s = await dial(SLEEP, { host: '127.0.20.1', port: APP_PORT });
      const hash = createHash('sha256').update('before-');
      s.write('before-');
      await new Promise((r) => setTimeout(r, 100));
      // The destination drains too where its transport lets inbound HBONE streams finish (native: GOAWAY); the
      // TypeScript transport resets inbound sessions when it stops serving a pod.
      const draining = Promise.all((transport === 'native' ? [a, b] : [a]).map((z) => z.drain(5_000)));
      await eventually(async () => {
        const late = net.connect({ host: SLEEP.addresses[0], port: PORTS.outbound });
        late.on('error', () => undefined);
        return new Promise((resolve) => {
          late.once('connect', () => (late.destroy(), resolve(false)));
          late.once('error', () => resolve(true));
        });
      });
      expect(await sendAndHash(s, Buffer.from('after'))).toBe(hash.update('after').digest('hex'));
      await draining;
    });
  },
);
