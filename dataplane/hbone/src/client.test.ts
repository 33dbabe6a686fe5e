// The client against a real HboneServer on loopback, certificates from the real CA: bulk integrity, pooling,
// identity checks and refusals.
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer as createTlsServer } from 'node:tls';
import type { Duplex } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { HboneClient, type ConnectRequest } from './client.ts';
import { defaultSocketFactory, type DialOptions } from './socket-factory.ts';
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
let productpage: TestWorkload;
let hbone: HboneHarness;
let upstream: Awaited<ReturnType<typeof startTcp>>;
const clients: HboneClient[] = [];

function newClient(opts?: ConstructorParameters<typeof HboneClient>[0]): HboneClient {
  const c = new HboneClient(opts);
  clients.push(c);
  return c;
}

function request(
  over: Partial<ConnectRequest['destination']> = {},
  source: TestWorkload = sleep,
): ConnectRequest {
  return {
    source: { ...source, ip: '127.0.0.1' },
    destination: {
      address: upstream.address,
      proxy: hbone.proxy,
      identities: [productpage.identity],
      ...over,
    },
  };
}

beforeAll(async () => {
  pki = await createTestPki();
  [sleep, productpage] = await Promise.all([
    pki.issue('default', 'sleep'),
    pki.issue('default', 'productpage'),
  ]);
  hbone = await startHbone(productpage);
  upstream = await startTcp(echo);
});

afterEach(() => {
  for (const c of clients.splice(0)) c.destroy();
});

afterAll(async () => {
  await hbone.close();
  await upstream.close();
});

async function roundTrip(stream: Duplex, text: string): Promise<string> {
  stream.write(text);
  const [chunk] = (await once(stream, 'data')) as [Buffer];
  return chunk.toString();
}

describe('HboneClient', () => {
  it('carries 100 MB each way through one stream intact', async () => {
    const client = newClient();
    const stream = await client.connect(request());
    const block = randomBytes(1024 * 1024);
    const sent = createHash('sha256');
    const received = createHash('sha256');
    let receivedBytes = 0;
    stream.on('data', (chunk: Buffer) => {
      received.update(chunk);
      receivedBytes += chunk.length;
    });
    const ended = once(stream, 'end');
    await pipeline(function* () {
      for (let i = 0; i < 100; i++) {
        // A different block each time, so a reordered or repeated chunk changes the digest.
        block[0] = i;
        const copy = Buffer.from(block);
        sent.update(copy);
        yield copy;
      }
    }, stream);
    await ended;
    expect(receivedBytes).toBe(100 * 1024 * 1024);
    expect(received.digest('hex')).toBe(sent.digest('hex'));
  }, 30_000);

  it('shares one TLS session per pool key and opens a second past 100 streams', async () => {
    const client = newClient();
    const before = hbone.accepted();
    const streams = await Promise.all(Array.from({ length: 150 }, () => client.connect(request())));
    const answers = await Promise.all(streams.map((s, i) => roundTrip(s, `hello ${i}`)));
    expect(answers).toEqual(streams.map((_s, i) => `hello ${i}`));
    expect(client.stats()).toMatchObject({ sessions: 2, streams: 150 });
    expect(hbone.accepted() - before).toBe(2);

    // Another source identity is another key: its own session, never the sleep certificate's.
    const other = await pki.issue('default', 'reviews');
    const s = await client.connect(request({}, other));
    expect(client.stats()).toMatchObject({ sessions: 3, streams: 151 });
    expect(hbone.connections.at(-1)?.peerIdentity).toBe(other.identity);

    for (const x of [...streams, s]) x.destroy();
    await eventually(() => client.stats().streams === 0, 5_000, 'streams released');
    // Freed slots are reused: no new TLS connection.
    (await client.connect(request())).destroy();
    expect(hbone.accepted() - before).toBe(3);
  }, 20_000);

  it('closes a session after it has been idle, and opens a new one afterwards', async () => {
    const client = newClient({ idleTimeoutMs: 50 });
    const stream = await client.connect(request());
    stream.end();
    stream.resume();
    await once(stream, 'close');
    await eventually(() => client.stats().sessions === 0, 5_000, 'idle session closed');
    const before = hbone.accepted();
    const again = await client.connect(request());
    expect(await roundTrip(again, 'x')).toBe('x');
    expect(hbone.accepted() - before).toBe(1);
    again.destroy();
  });

  it('drops a session the server tore down and dials afresh', async () => {
    const client = newClient();
    const stream = await client.connect(request());
    stream.on('error', () => undefined);
    const sessionsBefore = client.stats().sessions;
    expect(sessionsBefore).toBe(1);
    // Restart serving: every session of the harness server is destroyed.
    await hbone.server.close();
    hbone.server.serve(hbone.listener, productpage);
    await eventually(() => client.stats().sessions === 0, 5_000, 'dead session dropped');
    const again = await client.connect(request());
    expect(await roundTrip(again, 'back')).toBe('back');
    again.destroy();
  });

  it('dials through the injected SocketFactory from the source IP, with Nagle off', async () => {
    const dials: DialOptions[] = [];
    const client = newClient({
      socketFactory: async (opts) => {
        dials.push(opts);
        return defaultSocketFactory(opts);
      },
    });
    const stream = await client.connect(request());
    const [host, port] = hbone.proxy.split(':');
    expect(dials).toEqual([{ host, port: Number(port), sourceIp: '127.0.0.1' }]);
    stream.destroy();
  });

  it('refuses a server whose SPIFFE id is not the expected one (ERR_HBONE_IDENTITY)', async () => {
    const client = newClient();
    await expect(
      client.connect(request({ identities: ['spiffe://cluster.local/ns/default/sa/reviews'] })),
    ).rejects.toMatchObject({ code: 'ERR_HBONE_IDENTITY', name: 'HboneError' });
    expect(client.stats().sessions).toBe(0);
  });

  it('refuses a server whose certificate chains to another root (ERR_HBONE_TLS)', async () => {
    const foreign = await (await createTestPki()).issue('default', 'productpage');
    const impostor = await startHbone(foreign);
    try {
      await expect(newClient().connect(request({ proxy: impostor.proxy }))).rejects.toMatchObject({
        code: 'ERR_HBONE_TLS',
      });
    } finally {
      await impostor.close();
    }
  });

  it('refuses a TLS server that does not speak h2 (ERR_HBONE_ALPN)', async () => {
    const plain = createTlsServer({ cert: productpage.cert, key: productpage.key }, (s) => s.destroy());
    const address = await listenLoopback(plain);
    try {
      await expect(newClient().connect(request({ proxy: address }))).rejects.toMatchObject({
        code: 'ERR_HBONE_ALPN',
      });
    } finally {
      plain.close();
    }
  });

  it('reports an unreachable proxy as ERR_HBONE_DIAL with a hint', async () => {
    const closed = await startTcp(() => undefined);
    await closed.close();
    const err = await newClient()
      .connect(request({ proxy: closed.address }))
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'ERR_HBONE_DIAL' });
    expect((err as Error).message).toMatch(/15008/);
  });

  it.each([401, 503] as const)(
    'surfaces a %i answer as ERR_HBONE_CONNECT_STATUS with the status',
    async (status) => {
      const client = newClient();
      const saved = hbone.decide;
      hbone.decide = () => Promise.resolve({ status });
      try {
        await expect(client.connect(request())).rejects.toMatchObject({
          code: 'ERR_HBONE_CONNECT_STATUS',
          status,
        });
      } finally {
        hbone.decide = saved;
      }
      // The refused stream gave its slot back; the session stays for the next request.
      await eventually(() => client.stats().streams === 0, 2_000, 'slot released');
      expect(client.stats().sessions).toBe(1);
    },
  );

  it('answers 503 when the upstream cannot be dialed', async () => {
    const gone = await startTcp(() => undefined);
    await gone.close();
    await expect(newClient().connect(request({ address: gone.address }))).rejects.toMatchObject({
      code: 'ERR_HBONE_CONNECT_STATUS',
      status: 503,
    });
  });

  it('refuses malformed requests before dialing (ERR_HBONE_REQUEST)', async () => {
    const client = newClient();
    await expect(client.connect(request({ address: 'reviews:9080' }))).rejects.toMatchObject({
      code: 'ERR_HBONE_REQUEST',
    });
    await expect(client.connect(request({ identities: [] }))).rejects.toMatchObject({
      code: 'ERR_HBONE_REQUEST',
    });
  });
});
