// HTTP/1.1 requests written into HTTP/2 streams (what HboneAgent does with CONNECT streams), on a plain h2c session
// on loopback, so each guard is checked against Node itself and nothing else; and the agent over plain TCP.
import { once } from 'node:events';
import { createServer as createHttpServer, request, Agent, type ClientRequestArgs } from 'node:http';
import {
  connect,
  createServer,
  type ClientHttp2Session,
  type Http2Server,
  type ServerHttp2Stream,
} from 'node:http2';
import type { AddressInfo } from 'node:net';
import { Readable, type Duplex } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HboneClient } from '@ambit/hbone';
import { workload } from '../testing/records.ts';
import { dropEmptyWrites, endWithPeer, HboneAgent } from './http1-over-hbone.ts';
import { upstreamConnector } from './upstream-connector.ts';
import { sendHttp1 } from './upstream-request.ts';

let server: Http2Server;
let session: ClientHttp2Session;
/** The bytes each stream carried to the server, in order of arrival. */
const received: Buffer[] = [];

beforeAll(async () => {
  server = createServer();
  server.on('stream', (s: ServerHttp2Stream) => {
    s.respond({ ':status': 200 });
    const chunks: Buffer[] = [];
    s.on('data', (c: Buffer) => {
      chunks.push(c);
      const all = Buffer.concat(chunks);
      // One request per stream: answer once its 1 KiB body is in, then end the stream (as a backend closing).
      if (all.length >= all.indexOf('\r\n\r\n') + 4 + 1024 && all.includes('\r\n\r\n')) {
        received.push(all);
        s.end('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok');
      }
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  session = connect(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  await once(session, 'connect');
});

afterAll(async () => {
  session.close();
  await new Promise((r) => server.close(r));
});

/** An agent whose sockets are fresh h2 streams, passed through `wrap`. */
class StreamAgent extends Agent {
  readonly #wrap: (s: Duplex) => Duplex;
  constructor(wrap: (s: Duplex) => Duplex) {
    super({ keepAlive: false });
    this.#wrap = wrap;
  }
  override createConnection(
    _o: ClientRequestArgs,
    cb?: (err: Error | null, s: Duplex) => void,
  ): Duplex | null | undefined {
    cb?.(null, this.#wrap(session.request({ ':method': 'POST', ':path': '/' })));
    return undefined;
  }
}

/** A POST whose body is piped in the same tick as its head: head, body and end()'s empty chunk in one batch. */
function post(agent: Agent, i: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({
      agent,
      host: 'backend',
      port: 80,
      method: 'POST',
      path: `/item/${i}`,
      headers: { 'content-length': '1024' },
    });
    req.once('error', reject);
    req.once('response', (res) => {
      res.resume();
      res.once('end', () => resolve(res.statusCode ?? 0));
    });
    pipeline(Readable.from([Buffer.alloc(1024, 97 + (i % 26))]), req).catch(() => undefined);
  });
}

describe('dropEmptyWrites', () => {
  it('keeps the request head intact when head, body and an empty chunk go out in one batch', async () => {
    // Without it Node 24.21 sends freed heap in place of the head's first bytes on every such request.
    const agent = new StreamAgent((s) => dropEmptyWrites(s));
    received.length = 0;
    for (let i = 0; i < 20; i++) expect(await post(agent, i)).toBe(200);
    expect(received.map((b) => b.subarray(0, b.indexOf('\r\n')).toString('latin1'))).toEqual(
      Array.from({ length: 20 }, (_, i) => `POST /item/${i} HTTP/1.1`),
    );
    expect(received.every((b, i) => b.subarray(-1024).every((x) => x === 97 + (i % 26)))).toBe(true);
    agent.destroy();
  });

  it('still calls back a batch that held only empty chunks', async () => {
    const stream = dropEmptyWrites(session.request({ ':method': 'POST', ':path': '/' }));
    stream.on('error', () => undefined);
    stream.cork();
    const written = Promise.all(['', ''].map((c) => new Promise((r) => stream.write(c, r))));
    stream.uncork();
    await written;
    stream.destroy();
  });
});

describe('endWithPeer', () => {
  it('closes a stream once its peer ended it, so no agent can hand it out again', async () => {
    const stream = endWithPeer(session.request({ ':method': 'POST', ':path': '/' }));
    stream.on('error', () => undefined);
    stream.resume();
    stream.write(`POST /x HTTP/1.1\r\ncontent-length: 1024\r\n\r\n${'a'.repeat(1024)}`);
    // The server answers and ends its side; this side ends too, so the stream closes.
    await once(stream, 'close');
    expect(stream.writableEnded).toBe(true);
  });
});

describe('HboneAgent over plain TCP (a backend outside the mesh)', () => {
  it('reuses a keep-alive socket for the next request (Node 24 guards idle sockets until reuse)', async () => {
    const connections: unknown[] = [];
    const backend = createHttpServer((req, res) => {
      req.resume();
      res.end('ok');
    });
    backend.on('connection', (c) => connections.push(c));
    backend.listen(0, '127.0.0.1');
    await once(backend, 'listening');
    const port = (backend.address() as AddressInfo).port;
    const hbone = new HboneClient();
    const agent = new HboneAgent(
      upstreamConnector({
        hbone,
        identity: 'spiffe://cluster.local/ns/default/sa/gw',
        material: () => Promise.reject(new Error('plain TCP needs no certificate')),
      }),
      undefined,
    );
    const target = {
      workload: workload('plain', '127.0.0.1', { protocol: 'NONE' }),
      ip: '127.0.0.1',
      port,
      identity: 'spiffe://cluster.local/ns/default/sa/plain',
    };
    try {
      for (let i = 0; i < 3; i++) {
        const r = await sendHttp1(agent, {
          method: 'GET',
          path: `/${i}`,
          authority: 'plain',
          headers: {},
          body: Readable.from([]),
          bodyless: true,
          target,
          signal: new AbortController().signal,
        });
        const chunks: Buffer[] = [];
        for await (const c of r.body) chunks.push(c as Buffer);
        expect([r.status, Buffer.concat(chunks).toString()]).toEqual([200, 'ok']);
      }
      expect(connections).toHaveLength(1);
    } finally {
      agent.destroy();
      hbone.destroy();
      await new Promise((r) => backend.close(r));
    }
  });
});
