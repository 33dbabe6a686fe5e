// How the waypoint ends a caller's CONNECT stream when its HTTP/1.1 server ends the connection: closed in order,
// it is finished (EOF, then a clean close once the caller finishes too); dropped, it is reset; neither is left open.
// The caller here is what a ztunnel is: raw bytes over a CONNECT stream, half-closing when its app does.
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startHarness, type Caller, type Harness } from '../testing/harness.ts';
import { service, state, workload } from '../testing/records.ts';

const APP = '10.96.0.90:9080';
let h: Harness;
let app: Server;
let caller: Caller;

beforeAll(async () => {
  h = await startHarness();
  app = createServer((req, res) => {
    if (req.url !== '/dribble') return void res.end('ok');
    // Headers and a first chunk now, the rest after 3 s: the route timeout (400 ms) cuts it.
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.write('first ');
    const timer = setTimeout(() => res.end('rest'), 3_000);
    res.once('close', () => clearTimeout(timer));
  });
  app.listen(0, '127.0.0.91');
  await once(app, 'listening');
  await h.endpoint('127.0.0.91', 'app');
  const port = (app.address() as AddressInfo).port;
  h.update(
    state({
      workloads: [workload('app', '127.0.0.91')],
      services: [service('app', '10.96.0.90', 9080, { 'uid-app': port })],
      routeTables: [
        {
          id: 'default/app',
          service: 'default/app',
          protocol: 'HTTP',
          sources: [],
          rules: [
            {
              name: 'VirtualService/default/app#0',
              matches: [],
              backends: [{ service: 'default/app', port: 9080, weight: 1 }],
              timeoutMs: 400,
              mirrors: [],
            },
          ],
        },
      ],
    }),
  );
  caller = await h.caller('sleep');
}, 30_000);

afterAll(async () => {
  await h.close();
  app.closeAllConnections();
  app.close();
});

/** Everything the stream delivers, and how it ended. */
function watch(stream: Duplex) {
  const seen = { bytes: '', ended: false, closed: false, error: undefined as Error | undefined };
  stream.on('data', (c: Buffer) => (seen.bytes += c.toString('latin1')));
  stream.once('end', () => (seen.ended = true));
  stream.once('close', () => (seen.closed = true));
  stream.on('error', (err: Error) => (seen.error = err));
  return seen;
}

describe('teardown of a caller connection', { timeout: 20_000 }, () => {
  it('finishes a connection the server closes in order (connection: close), then closes cleanly', async () => {
    const stream = await caller.open(APP);
    const seen = watch(stream);
    stream.write('GET / HTTP/1.1\r\nhost: app\r\nconnection: close\r\n\r\n');
    // The answer, then an EOF (as a FIN would be), not a reset.
    await eventually(() => seen.ended, 5_000, 'the answer and the EOF');
    expect(seen.bytes).toMatch(/^HTTP\/1\.1 200 [^]*ok$/);
    expect(seen.error).toBeUndefined();
    // The caller's app closes too: the stream closes without error, and the waypoint holds nothing for it.
    stream.end();
    await eventually(() => seen.closed, 5_000, 'the stream to close');
    expect(seen.error).toBeUndefined();
    await eventually(() => h.waypoint.openStreams === 0, 5_000, 'no open stream at the waypoint');
  });

  it('resets a connection its HTTP server dropped (route timeout after the response began), holding nothing', async () => {
    // Regression: a dropped connection reached the caller as an EOF only; the waypoint's end of the in-memory
    // pair then never finished, so the caller's stream stayed open and the waypoint held it for good.
    const stream = await caller.open(APP);
    const seen = watch(stream);
    stream.write('GET /dribble HTTP/1.1\r\nhost: app\r\n\r\n');
    await eventually(() => seen.closed, 2_500, 'the stream to close without the caller ending it');
    expect(seen.bytes).toMatch(/^HTTP\/1\.1 200 /);
    expect(seen.bytes).not.toContain('rest');
    await eventually(() => h.waypoint.openStreams === 0, 5_000, 'no open stream at the waypoint');
  });
});
