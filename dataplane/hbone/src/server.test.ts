// The server's edge: who may complete a handshake, what a non-CONNECT gets, and what the decision is told.
import { once } from 'node:events';
import { createServer } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HboneClient } from './client.ts';
import { openH2OverTls } from './h2-over-tls.ts';
import { defaultSocketFactory } from './socket-factory.ts';
import { clientTlsOptions } from './tls-options.ts';
import { HboneServer } from './server.ts';
import { createTestPki, type TestPki, type TestWorkload } from './testing/pki.ts';
import {
  echo,
  eventually,
  listenLoopback,
  startHbone,
  startTcp,
  type HboneHarness,
} from './testing/loopback.ts';

let pki: TestPki;
let sleep: TestWorkload;
let ztunnel: TestWorkload;
let hbone: HboneHarness;
let upstream: Awaited<ReturnType<typeof startTcp>>;

beforeAll(async () => {
  pki = await createTestPki();
  [sleep, ztunnel] = await Promise.all([pki.issue('default', 'sleep'), pki.issue('default', 'productpage')]);
  hbone = await startHbone(ztunnel);
  upstream = await startTcp(echo);
});

afterAll(async () => {
  await hbone.close();
  await upstream.close();
});

/** A raw TLS attempt at the HBONE listener; resolves with how it ended. */
async function rawHandshake(
  opts: ConnectionOptions,
): Promise<{ secure: boolean; alpn: string | false; error?: Error }> {
  const [host, port] = hbone.proxy.split(':');
  const socket = tlsConnect({
    host,
    port: Number(port),
    ca: [...pki.trustBundle],
    checkServerIdentity: () => undefined,
    ...opts,
  });
  let secure = false;
  let error: Error | undefined;
  socket.on('secureConnect', () => {
    secure = true;
    // TLS 1.3 lets the client finish first; the server's verdict on our certificate arrives as an alert on read.
    socket.write('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
  });
  socket.on('error', (err: Error) => {
    error = err;
  });
  socket.resume();
  await new Promise((resolve) => socket.once('close', resolve));
  return { secure, alpn: socket.alpnProtocol ?? false, ...(error ? { error } : {}) };
}

function errorsSince(n: number): string[] {
  return hbone.errors.slice(n).map((e) => e.code);
}

describe('HboneServer handshake', () => {
  it('rejects a client that presents no certificate', async () => {
    const n = hbone.errors.length;
    const result = await rawHandshake({ ALPNProtocols: ['h2'] });
    expect(result.error).toMatchObject({ code: 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED' });
    await eventually(() => errorsSince(n).includes('ERR_HBONE_TLS'), 2_000, 'server reports the handshake');
  });

  it('rejects a client whose certificate chains to an untrusted root', async () => {
    const stranger = await (await createTestPki()).issue('default', 'sleep');
    const n = hbone.errors.length;
    const client = new HboneClient();
    // The stranger trusts our root, so only the server's check can refuse it.
    const err = await client
      .connect({
        source: { ...stranger, trustBundle: pki.trustBundle },
        destination: { address: upstream.address, proxy: hbone.proxy, identities: [ztunnel.identity] },
      })
      .catch((e: unknown) => e);
    client.destroy();
    expect(err).toMatchObject({ name: 'HboneError' });
    await eventually(() => errorsSince(n).includes('ERR_HBONE_TLS'), 2_000, 'server reports the handshake');
    expect(hbone.connections.some((c) => c.peerIdentity === stranger.identity)).toBe(false);
  });

  it('rejects a TLS 1.2-only client', async () => {
    const n = hbone.errors.length;
    const result = await rawHandshake({
      cert: sleep.cert,
      key: sleep.key,
      ALPNProtocols: ['h2'],
      maxVersion: 'TLSv1.2',
    });
    expect(result.secure).toBe(false);
    expect(result.error).toMatchObject({ code: 'ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION' });
    await eventually(() => errorsSince(n).includes('ERR_HBONE_TLS'), 2_000, 'server reports the handshake');
  });

  it('rejects a client that does not offer ALPN h2', async () => {
    const n = hbone.errors.length;
    const result = await rawHandshake({ cert: sleep.cert, key: sleep.key, ALPNProtocols: ['http/1.1'] });
    expect(result.secure).toBe(false);
    expect(result.error).toMatchObject({ code: 'ERR_SSL_TLSV1_ALERT_NO_APPLICATION_PROTOCOL' });
    await eventually(() => errorsSince(n).includes('ERR_HBONE_TLS'), 2_000, 'server reports the handshake');
  });

  it('drops a client that offers no ALPN at all', async () => {
    const n = hbone.errors.length;
    const result = await rawHandshake({ cert: sleep.cert, key: sleep.key });
    expect(result.alpn).toBe(false);
    await eventually(() => errorsSince(n).includes('ERR_HBONE_ALPN'), 2_000, 'server reports ALPN');
  });
});

describe('HboneServer requests', () => {
  async function session() {
    const [host, port] = hbone.proxy.split(':');
    return openH2OverTls({
      socketFactory: defaultSocketFactory,
      proxy: { host: host!, port: Number(port) },
      tls: clientTlsOptions(sleep, [ztunnel.identity]),
      timeoutMs: 5_000,
    });
  }

  it.each([
    ['a GET', { ':method': 'GET', ':path': '/' }],
    ['a CONNECT to a host name', { ':method': 'CONNECT', ':authority': 'reviews.default:9080' }],
  ])('answers %s with 400', async (_name, headers) => {
    const s = await session();
    try {
      const stream = s.request(headers, { endStream: headers[':method'] === 'GET' });
      const [response] = (await once(stream, 'response')) as [Record<string, unknown>];
      expect(response[':status']).toBe(400);
    } finally {
      s.destroy();
    }
  });

  it('tells the decision the client SPIFFE id, the authority and the forwarded headers', async () => {
    const client = new HboneClient();
    const stream = await client.connect({
      source: sleep,
      destination: { address: upstream.address, proxy: hbone.proxy, identities: [ztunnel.identity] },
      headers: {
        forwardedFor: '10.244.1.7',
        baggage: 'k8s.namespace.name=default',
        traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
      },
    });
    const conn = hbone.connections.at(-1)!;
    expect(conn).toMatchObject({
      authority: upstream.address,
      peerIdentity: 'spiffe://cluster.local/ns/default/sa/sleep',
      headers: {
        forwarded: 'for=10.244.1.7',
        baggage: 'k8s.namespace.name=default',
        traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
      },
    });
    expect(conn.peerAddress).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(conn.localAddress).toBe(hbone.proxy);
    stream.destroy();
    client.destroy();
  });

  it('answers 503 when the decision throws', async () => {
    const saved = hbone.decide;
    hbone.decide = () => Promise.reject(new Error('connect ECONNREFUSED'));
    const client = new HboneClient();
    try {
      await expect(
        client.connect({
          source: sleep,
          destination: { address: upstream.address, proxy: hbone.proxy, identities: [ztunnel.identity] },
        }),
      ).rejects.toMatchObject({ code: 'ERR_HBONE_CONNECT_STATUS', status: 503 });
    } finally {
      hbone.decide = saved;
      client.destroy();
    }
  });
});

describe('one HboneServer, many listeners', () => {
  it('presents each listener its own certificate, fixed or from a function', async () => {
    const [a, b] = await Promise.all([pki.issue('ns-a', 'a'), pki.issue('ns-b', 'b')]);
    const server = new HboneServer({ onConnect: () => Promise.resolve({ status: 401 }) });
    const la = createServer();
    const lb = createServer();
    server.serve(la, a);
    server.serve(lb, () => ({ cert: b.cert, key: b.key, ca: [...b.trustBundle] }));
    const [pa, pb] = await Promise.all([listenLoopback(la), listenLoopback(lb)]);
    const client = new HboneClient();
    const ask = (proxy: string, identity: string) =>
      client.connect({
        source: sleep,
        destination: { address: upstream.address, proxy, identities: [identity] },
      });
    try {
      await expect(ask(pa, a.identity)).rejects.toMatchObject({ status: 401 });
      await expect(ask(pb, b.identity)).rejects.toMatchObject({ status: 401 });
      await expect(ask(pb, a.identity)).rejects.toMatchObject({ code: 'ERR_HBONE_IDENTITY' });
    } finally {
      client.destroy();
      await server.close();
      la.close();
      lb.close();
    }
  });
});
