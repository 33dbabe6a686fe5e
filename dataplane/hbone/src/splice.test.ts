// Splicing through a real HBONE hop (client → HboneServer → TCP upstream): half-close, resets both ways, and
// bounded buffering against a slow reader.
import { once } from 'node:events';
import { constants } from 'node:http2';
import type { Socket } from 'node:net';
import { Readable, type Duplex } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HboneClient } from './client.ts';
import { createTestPki, type TestWorkload } from './testing/pki.ts';
import { eventually, readAll, startHbone, startTcp, type HboneHarness } from './testing/loopback.ts';

let sleep: TestWorkload;
let ztunnel: TestWorkload;
let hbone: HboneHarness;
let client: HboneClient;

beforeAll(async () => {
  const pki = await createTestPki();
  [sleep, ztunnel] = await Promise.all([pki.issue('default', 'sleep'), pki.issue('default', 'productpage')]);
  hbone = await startHbone(ztunnel);
  client = new HboneClient();
});

afterAll(async () => {
  client.destroy();
  await hbone.close();
});

async function tunnelTo(onSocket: (s: Socket) => void) {
  const upstream = await startTcp(onSocket);
  const stream = await client.connect({
    source: sleep,
    destination: { address: upstream.address, proxy: hbone.proxy, identities: [ztunnel.identity] },
  });
  return { upstream, stream };
}

const MiB = 1024 * 1024;

describe('splice through HBONE', () => {
  it('half-close: the upstream sees EOF, can still answer, then the stream ends cleanly', async () => {
    const { upstream, stream } = await tunnelTo((socket) => {
      void readAll(socket).then((got) => {
        // After our EOF: the write side is still open.
        socket.end(`got ${got.length} bytes: ${got.toString()}`);
      });
    });
    stream.end('hello');
    const answer = await readAll(stream);
    expect(answer.toString()).toBe('got 5 bytes: hello');
    await once(stream, 'close');
    expect((stream as unknown as { rstCode?: number }).rstCode).toBe(constants.NGHTTP2_NO_ERROR);
    await eventually(() => hbone.closed.some((c) => c.conn.authority === upstream.address), 2_000, 'onClose');
    const { result } = hbone.closed.find((c) => c.conn.authority === upstream.address)!;
    expect(result).toEqual({ aToB: 5, bToA: 'got 5 bytes: hello'.length });
    await upstream.close();
  });

  it('an upstream reset (RST) resets the client stream (RST_STREAM, not a clean end)', async () => {
    const { upstream, stream } = await tunnelTo((socket) => {
      socket.once('data', () => socket.resetAndDestroy());
    });
    stream.write('boom');
    const [err] = (await once(stream, 'error').catch((e: unknown) => [e])) as [Error & { code?: string }];
    expect(err.code).toBe('ERR_HTTP2_STREAM_ERROR');
    // INTERNAL_ERROR while the stream is still writable (see resetDuplex), CONNECT_ERROR once it is flushed.
    expect(err.message).toMatch(/NGHTTP2_(CONNECT|INTERNAL)_ERROR/);
    await upstream.close();
  });

  it('destroying the client stream destroys the upstream socket', async () => {
    let upstreamClosed = false;
    const { upstream, stream } = await tunnelTo((socket) => {
      socket.once('close', () => (upstreamClosed = true));
    });
    stream.write('x');
    await eventually(
      () => upstream.sockets.length === 1 && upstream.sockets[0]!.bytesRead === 1,
      2_000,
      'data',
    );
    stream.destroy();
    await eventually(() => upstreamClosed, 2_000, 'upstream socket closed');
    await upstream.close();
  });
});

describe('backpressure', () => {
  const TOTAL = 64 * MiB;
  /**
   * Bytes that may sit between a writer and a paused reader: the 4 MiB stream window, Node's stream buffers
   * (16 KiB marks, up to one 1 MiB frame) and four loopback socket buffers (a few MiB each on Linux). Unbounded
   * buffering would approach TOTAL.
   */
  const BOUND = 24 * MiB;

  /** A 64 KiB-chunk source that only produces when pulled, counting what it produced. */
  function source(): { readable: Readable; produced: () => number } {
    let produced = 0;
    const chunk = Buffer.alloc(64 * 1024, 7);
    const readable = new Readable({
      read() {
        if (produced >= TOTAL) {
          this.push(null);
          return;
        }
        produced += chunk.length;
        this.push(chunk);
      },
    });
    return { readable, produced: () => produced };
  }

  /** Waits until `produced` has not moved for 200 ms (the pipes are full). */
  async function stalls(produced: () => number): Promise<number> {
    let last = -1;
    let since = Date.now();
    await eventually(
      () => {
        const now = produced();
        if (now !== last) {
          last = now;
          since = Date.now();
        }
        return Date.now() - since > 200;
      },
      10_000,
      'the writer to stall',
    );
    return last;
  }

  /** Reads slowly: a 64 KiB taste, a 1 ms pause; returns bytes read. Samples `inFlight` all along. */
  async function slowDrain(
    reader: Duplex,
    inFlight: () => number,
  ): Promise<{ read: number; maxInFlight: number }> {
    let read = 0;
    let maxInFlight = 0;
    reader.pause();
    await new Promise<void>((resolve, reject) => {
      reader.on('error', reject);
      const tick = () => {
        let taken = 0;
        let chunk: Buffer | null;
        while (taken < 64 * 1024 && (chunk = reader.read() as Buffer | null) !== null) taken += chunk.length;
        read += taken;
        maxInFlight = Math.max(maxInFlight, inFlight());
        if (reader.readableEnded || read >= TOTAL) resolve();
        else setTimeout(tick, taken === 0 ? 0 : 1);
      };
      reader.once('end', resolve);
      tick();
    });
    return { read, maxInFlight };
  }

  it('client → slow upstream reader: the client stops, nothing buffers unboundedly', async () => {
    let upstreamSocket: Socket | undefined;
    const { upstream, stream } = await tunnelTo((socket) => {
      socket.pause();
      upstreamSocket = socket;
    });
    const src = source();
    const sending = pipeline(src.readable, stream);
    const stalledAt = await stalls(src.produced);
    expect(stalledAt).toBeLessThan(BOUND);
    const serverSide = hbone.upstreams.at(-1)!;
    expect(serverSide.writableLength).toBeLessThan(2 * MiB);

    await eventually(() => upstreamSocket !== undefined, 2_000, 'upstream accepted');
    const drained = await slowDrain(upstreamSocket!, () => src.produced() - upstreamSocket!.bytesRead);
    await sending;
    expect(drained.read).toBe(TOTAL);
    expect(drained.maxInFlight).toBeLessThan(BOUND);
    await upstream.close();
  }, 30_000);

  it('upstream → slow client reader: the upstream stops, nothing buffers unboundedly', async () => {
    const src = source();
    const { upstream, stream } = await tunnelTo((socket) => {
      void pipeline(src.readable, socket).catch(() => undefined);
    });
    stream.pause();
    const stalledAt = await stalls(src.produced);
    expect(stalledAt).toBeLessThan(BOUND);
    let read = 0;
    stream.on('data', (c: Buffer) => (read += c.length));
    stream.pause();
    const drained = await slowDrain(stream, () => src.produced() - read);
    expect(drained.read).toBe(TOTAL);
    expect(drained.maxInFlight).toBeLessThan(BOUND);
    stream.destroy();
    await upstream.close();
  }, 30_000);
});
