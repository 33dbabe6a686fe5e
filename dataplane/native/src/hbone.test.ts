// The native HBONE byte path against the TypeScript one (@ambit/hbone), both ways, on loopback with real TLS and
// certificates from the real mesh CA: wire compatibility, the 400/401/503 answers, SAN checks, pooling, half-close
// and reset propagation. Needs the built addon (`make install-native`); no netns, no root.
import { once } from 'node:events';
import { connect as tcpConnect, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  clientTlsOptions,
  defaultSocketFactory,
  HboneClient,
  HboneError,
  openH2OverTls,
  parseAddress,
} from '@ambit/hbone';
import { createTestPki, type TestPki, type TestWorkload } from '../../hbone/src/testing/pki.ts';
import {
  echo,
  eventually,
  readAll,
  startHbone,
  startTcp,
  type HboneHarness,
} from '../../hbone/src/testing/loopback.ts';
import {
  listenHbone,
  NativeError,
  type ClosedConnection,
  NativeHboneClient,
  type InboundConnect,
  type InboundVerdict,
  type NativeHboneServer,
  type NativeOutboundListener,
  type OutboundConnect,
  type OutboundPlan,
} from './index.ts';

const TRACEPARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
const BAGGAGE = 'k8s.namespace.name=default,k8s.deployment.name=sleep';

let pki: TestPki;
let sleep: TestWorkload;
let ztunnel: TestWorkload;
/** Echoes bytes and EOF; records how each accepted socket ended (for reset propagation). */
let target: Awaited<ReturnType<typeof startTcp>>;
const targetErrors: string[] = [];
/** A port nothing listens on. */
let closedAddress: string;

beforeAll(async () => {
  pki = await createTestPki();
  [sleep, ztunnel] = await Promise.all([pki.issue('default', 'sleep'), pki.issue('default', 'ztunnel')]);
  target = await startTcp((socket) => {
    socket.on('error', (err: NodeJS.ErrnoException) => targetErrors.push(err.code ?? err.message));
    echo(socket);
  });
  const gone = await startTcp(() => undefined);
  closedAddress = gone.address;
  await gone.close();
});

afterAll(async () => {
  await target.close();
});

function endpoint(address: { host: string; port: number }): string {
  return `${address.host}:${address.port}`;
}

/** Writes `payload`, half-closes, and resolves with everything read back, or the error that ended the socket. */
async function roundTrip(stream: Duplex, payload: Buffer): Promise<{ data: Buffer; error?: string }> {
  const reading = readAll(stream).then(
    (data) => ({ data }),
    (err: NodeJS.ErrnoException) => ({ data: Buffer.alloc(0), error: err.code ?? err.message }),
  );
  stream.on('error', () => undefined);
  stream.end(payload);
  return reading;
}

/**
 * `roundTrip` on a new TCP connection to `address`. A reset may come before Node sees the connection complete
 * (a refusal right after accept), so a failed connect counts as the reset it is.
 */
async function exchange(address: string, payload: Buffer): Promise<{ data: Buffer; error?: string }> {
  let socket: Socket;
  try {
    socket = await dial(address);
  } catch (err) {
    return { data: Buffer.alloc(0), error: (err as NodeJS.ErrnoException).code ?? String(err) };
  }
  return roundTrip(socket, payload);
}

async function dial(address: string): Promise<Socket> {
  const { host, port } = parseAddress(address)!;
  const socket = tcpConnect({ host, port, allowHalfOpen: true });
  await once(socket, 'connect');
  return socket;
}

function bytes(n: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + 7) & 0xff;
  return b;
}

describe('TypeScript HBONE client → native HBONE server', () => {
  let server: NativeHboneServer;
  let proxy: string;
  const seen: InboundConnect[] = [];
  const decisionErrors: unknown[] = [];
  let decide: (c: InboundConnect) => InboundVerdict | Promise<InboundVerdict>;
  const allow = (c: InboundConnect): InboundVerdict => ({ status: 200, target: c.authority });

  beforeAll(() => {
    decide = allow;
    server = listenHbone({
      host: '127.0.0.1',
      port: 0,
      tls: ztunnel,
      decide: (c) => {
        seen.push(c);
        return decide(c);
      },
      onDecisionError: (err) => decisionErrors.push(err),
    });
    proxy = endpoint(server.address);
  });

  afterAll(() => server.close());

  function connect(client: HboneClient, identities = [ztunnel.identity], address = target.address) {
    return client.connect({
      source: sleep,
      destination: { address, proxy, identities },
      headers: { forwardedFor: '127.0.0.1', baggage: BAGGAGE, traceparent: TRACEPARENT },
    });
  }

  it('carries bytes and EOF both ways, 12 MiB past every window, and tells the decision who and where', async () => {
    const client = new HboneClient();
    try {
      const payload = bytes(12 * 1024 * 1024);
      const back = await roundTrip(await connect(client), payload);
      expect(back.error).toBeUndefined();
      expect(back.data.equals(payload)).toBe(true);
      const small = await roundTrip(await connect(client), Buffer.from('hello'));
      expect(small.data.toString()).toBe('hello');
      expect(seen.at(-1)).toEqual({
        id: expect.any(Number) as unknown,
        authority: target.address,
        peerIdentity: sleep.identity,
        peerAddress: expect.stringMatching(/^127\.0\.0\.1:\d+$/) as unknown,
        localAddress: proxy,
        headers: { forwarded: 'for=127.0.0.1', baggage: BAGGAGE, traceparent: TRACEPARENT },
      });
      expect(client.stats().sessions).toBe(1);
      expect(server.stats()).toMatchObject({ connectionsAccepted: 1, spliced: 2, refused400: 0 });
    } finally {
      client.destroy();
    }
  });

  it('answers 401 to a denial, 503 to an unreachable target and to a throwing decision', async () => {
    const client = new HboneClient();
    try {
      decide = () => ({ status: 401, reason: 'denied by policy' });
      await expect(connect(client)).rejects.toMatchObject({ code: 'ERR_HBONE_CONNECT_STATUS', status: 401 });
      decide = allow;
      await expect(connect(client, undefined, closedAddress)).rejects.toMatchObject({ status: 503 });
      decide = () => {
        throw new Error('config not loaded');
      };
      await expect(connect(client)).rejects.toMatchObject({ status: 503 });
      expect(decisionErrors).toHaveLength(1);
      decide = () => ({ status: 503, reason: 'no such pod' });
      await expect(connect(client)).rejects.toMatchObject({ status: 503 });
    } finally {
      decide = allow;
      client.destroy();
    }
  });

  it('answers 400 to a request that is not CONNECT', async () => {
    const session = await openH2OverTls({
      socketFactory: defaultSocketFactory,
      proxy: parseAddress(proxy)!,
      tls: clientTlsOptions(sleep, [ztunnel.identity]),
      timeoutMs: 5_000,
    });
    try {
      const before = server.stats().refused400;
      const request = session.request({
        ':method': 'GET',
        ':path': '/',
        ':scheme': 'https',
        ':authority': proxy,
      });
      const [headers] = (await once(request, 'response')) as [Record<string, unknown>];
      expect(headers[':status']).toBe(400);
      request.resume();
      expect(server.stats().refused400).toBe(before + 1);
    } finally {
      session.destroy();
    }
  });

  it('is refused by a client that expects another identity, and refuses a client from another CA', async () => {
    const client = new HboneClient();
    try {
      const before = server.stats().handshakeFailures;
      const wrong = connect(client, [sleep.identity]);
      await expect(wrong).rejects.toBeInstanceOf(HboneError);
      await expect(wrong).rejects.toMatchObject({ code: 'ERR_HBONE_IDENTITY' });
      const stranger = await (await createTestPki()).issue('default', 'sleep');
      const refused = client.connect({
        source: { ...stranger, trustBundle: pki.trustBundle },
        destination: { address: target.address, proxy, identities: [ztunnel.identity] },
      });
      await expect(refused).rejects.toBeInstanceOf(HboneError);
      // Both fail the handshake at the server too: the first client aborts it, the second is not trusted.
      await eventually(
        () => server.stats().handshakeFailures === before + 2,
        2_000,
        'handshake failures counted',
      );
    } finally {
      client.destroy();
    }
  });

  it('turns a client reset into an RST to the target', async () => {
    const client = new HboneClient();
    try {
      const stream = await connect(client);
      stream.write('ping');
      await once(stream, 'data');
      const before = targetErrors.length;
      stream.destroy();
      await eventually(
        () => targetErrors.slice(before).includes('ECONNRESET'),
        5_000,
        'ECONNRESET at the target',
      );
    } finally {
      client.destroy();
    }
  });

  it('presents new material to new connections after setTls', async () => {
    const other = await pki.issue('default', 'ztunnel-next');
    server.setTls(other);
    const client = new HboneClient();
    try {
      const back = await roundTrip(await connect(client, [other.identity]), Buffer.from('rotated'));
      expect(back.data.toString()).toBe('rotated');
      expect(() => server.setTls({ ...other, key: ztunnel.key })).toThrow(NativeError);
    } finally {
      server.setTls(ztunnel);
      client.destroy();
    }
  });
});

describe('native HBONE client → TypeScript HBONE server', () => {
  let hbone: HboneHarness;
  let native: NativeHboneClient;
  let outbound: NativeOutboundListener;
  let entry: string;
  const asked: OutboundConnect[] = [];
  const decisionErrors: unknown[] = [];
  let plan: (c: OutboundConnect) => OutboundPlan;
  const viaHbone = (identities = [ztunnel.identity]): OutboundPlan => ({
    kind: 'hbone',
    proxy: hbone.proxy,
    authority: target.address,
    sourceIdentity: sleep.identity,
    identities,
    headers: { baggage: BAGGAGE, traceparent: TRACEPARENT },
  });

  beforeAll(async () => {
    hbone = await startHbone(ztunnel);
    native = new NativeHboneClient();
    native.setCertificate(sleep.identity, sleep);
    plan = () => viaHbone();
    outbound = native.listenOutbound({
      host: '127.0.0.1',
      port: 0,
      decide: (c) => {
        asked.push(c);
        return plan(c);
      },
      onDecisionError: (err) => decisionErrors.push(err),
    });
    entry = endpoint(outbound.address);
  });

  afterAll(async () => {
    outbound.close();
    native.close();
    await hbone.close();
  });

  it('carries bytes and EOF both ways over one pooled session, with the CONNECT headers', async () => {
    const payload = bytes(12 * 1024 * 1024);
    const big = await exchange(entry, payload);
    expect(big.error).toBeUndefined();
    expect(big.data.equals(payload)).toBe(true);
    for (const word of ['one', 'two', 'three']) {
      expect((await exchange(entry, Buffer.from(word))).data.toString()).toBe(word);
    }
    expect(asked.at(-1)).toEqual({
      id: expect.any(Number) as unknown,
      sourceAddress: expect.stringMatching(/^127\.0\.0\.1:\d+$/) as unknown,
      destination: entry,
      localAddress: entry,
    });
    expect(hbone.connections.at(-1)).toEqual({
      authority: target.address,
      peerIdentity: sleep.identity,
      peerAddress: expect.stringMatching(/^127\.0\.0\.1:\d+$/) as unknown,
      localAddress: hbone.proxy,
      headers: { forwarded: 'for=127.0.0.1', baggage: BAGGAGE, traceparent: TRACEPARENT },
    });
    expect(hbone.accepted()).toBe(1);
    await eventually(() => hbone.closed.length === 4, 2_000, 'TypeScript server saw four splices end');
    expect(hbone.closed.every((c) => c.result.error === undefined)).toBe(true);
    expect(native.stats()).toMatchObject({ connectionsOpened: 1, hbone: 4, pooledConnections: 1, failed: 0 });
  });

  it("dials from the plan's source IP, on a session of its own", async () => {
    const sessions = hbone.accepted();
    plan = () => ({ ...viaHbone(), sourceIp: '127.0.0.2' });
    try {
      expect((await exchange(entry, Buffer.from('from .2'))).data.toString()).toBe('from .2');
      expect(hbone.connections.at(-1)?.peerAddress).toMatch(/^127\.0\.0\.2:\d+$/);
      expect(hbone.accepted()).toBe(sessions + 1);
    } finally {
      plan = () => viaHbone();
    }
  });

  it('resets the application when the server answers 401 or 503', async () => {
    const dialTarget = hbone.decide;
    try {
      for (const status of [401, 503] as const) {
        const failed = native.stats().failed;
        hbone.decide = () => Promise.resolve({ status });
        const back = await exchange(entry, Buffer.from('x'));
        expect(back.error).toBe('ECONNRESET');
        expect(native.stats().failed).toBe(failed + 1);
      }
    } finally {
      hbone.decide = dialTarget;
    }
  });

  it('refuses to talk to a server with the wrong SAN', async () => {
    plan = () => viaHbone([sleep.identity]);
    try {
      const before = native.stats();
      const back = await exchange(entry, Buffer.from('x'));
      expect(back.error).toBe('ECONNRESET');
      expect(native.stats().connectionFailures).toBe(before.connectionFailures + 1);
      expect(native.stats().connectionsOpened).toBe(before.connectionsOpened);
    } finally {
      plan = () => viaHbone();
    }
  });

  it('passes through, refuses, and resets when the decision throws', async () => {
    try {
      plan = () => ({ kind: 'passthrough', target: target.address });
      expect((await exchange(entry, Buffer.from('plain'))).data.toString()).toBe('plain');
      plan = () => ({ kind: 'refuse', reason: 'waypoint has no endpoint' });
      expect((await exchange(entry, Buffer.from('x'))).error).toBe('ECONNRESET');
      plan = () => {
        throw new Error('boom');
      };
      expect((await exchange(entry, Buffer.from('x'))).error).toBe('ECONNRESET');
      expect(decisionErrors).toHaveLength(1);
      expect(native.stats()).toMatchObject({ passthrough: 1, refused: 2 });
    } finally {
      plan = () => viaHbone();
    }
  });

  it('turns an application reset into an RST at the far target', async () => {
    const app = await dial(entry);
    app.write('ping');
    await once(app, 'data');
    const before = targetErrors.length;
    app.resetAndDestroy();
    await eventually(
      () => targetErrors.slice(before).includes('ECONNRESET'),
      5_000,
      'ECONNRESET at the target',
    );
  });

  it('refuses a certificate registered under an identity it does not name', () => {
    expect(() => native.setCertificate(ztunnel.identity, sleep)).toThrow(
      expect.objectContaining({ code: 'ERR_NATIVE_TLS' }) as Error,
    );
  });
});

describe('native connection tracking: ids, close reports, closeConnection, drain', () => {
  const decided: number[] = [];
  const closedByServer: ClosedConnection[] = [];
  const closedByClient: ClosedConnection[] = [];
  let server: NativeHboneServer;
  let native: NativeHboneClient;
  let outbound: NativeOutboundListener;
  let entry: string;

  beforeAll(() => {
    server = listenHbone({
      host: '127.0.0.1',
      port: 0,
      decide: (c) => {
        decided.push(c.id);
        return { status: 200, target: c.authority };
      },
      onClose: (batch) => closedByServer.push(...batch),
    });
    native = new NativeHboneClient({ onClose: (batch) => closedByClient.push(...batch) });
    native.setCertificate(sleep.identity, sleep);
    outbound = native.listenOutbound({
      host: '127.0.0.1',
      port: 0,
      decide: (c) => {
        decided.push(c.id);
        return {
          kind: 'hbone',
          proxy: endpoint(server.address),
          authority: target.address,
          sourceIdentity: sleep.identity,
          identities: [ztunnel.identity],
        };
      },
    });
    entry = endpoint(outbound.address);
  });

  afterAll(() => {
    native.close();
    server.close();
  });

  it('refuses every handshake until the server has a certificate', async () => {
    expect((await exchange(entry, Buffer.from('x'))).error).toBe('ECONNRESET');
    expect(server.stats().noCertificate).toBe(1);
    await eventually(() => closedByClient.length === 1, 2_000, 'the failure reported');
    expect(closedByClient[0]?.error).toMatch(/tls|http\/2|connect/i);
    server.setTls(ztunnel);
  });

  it('reports each end once, by the id its decision was given, with its bytes each way', async () => {
    decided.length = 0;
    closedByClient.length = 0;
    closedByServer.length = 0;
    const back = await exchange(entry, bytes(70_000));
    expect(back.data.length).toBe(70_000);
    await eventually(
      () => closedByClient.length === 1 && closedByServer.length === 1,
      2_000,
      'both ends reported',
    );
    const [clientId, serverId] = decided;
    expect(closedByClient).toEqual([{ id: clientId, toTarget: 70_000, fromTarget: 70_000 }]);
    expect(closedByServer).toEqual([{ id: serverId, toTarget: 70_000, fromTarget: 70_000 }]);
  });

  it('resets a connection by id, from either end', async () => {
    for (const end of ['client', 'server'] as const) {
      decided.length = 0;
      const app = await dial(entry);
      const ended = new Promise<string>((resolve) => {
        app.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
        app.on('end', () => resolve('end'));
      });
      app.write('ping');
      await once(app, 'data');
      const id = (end === 'client' ? decided[0] : decided[1]) ?? -1;
      const closer = end === 'client' ? native : server;
      expect(closer.closeConnection(id)).toBe(true);
      expect(await ended).toBe('ECONNRESET');
      const reports = end === 'client' ? closedByClient : closedByServer;
      await eventually(() => reports.some((c) => c.id === id), 2_000, `the ${end}'s report`);
      expect(reports.find((c) => c.id === id)?.reset).toBe('closed by the proxy');
      expect(closer.closeConnection(id)).toBe(false);
    }
  });

  it('drains: GOAWAY, no new connections, open streams finish, then the server closes', async () => {
    const app = await dial(entry);
    app.write('before-');
    await once(app, 'data');
    server.drain();
    outbound.drain();
    const deadline = Date.now() + 2_000;
    while ((await exchange(entry, Buffer.from('x'))).error === undefined) {
      expect(Date.now()).toBeLessThan(deadline);
    }
    expect((await roundTrip(app, Buffer.from('after'))).data.toString()).toBe('after');
    await eventually(() => server.stats().connectionsOpen === 0, 2_000, 'the drained server closed');
  });
});
