// The ingress gateway end to end on loopback (issue 10, first slice): clients speak plain HTTP/1.1 or HTTP/2 to
// the gateway's listener ports; the gateway routes with HTTPRoute-shaped tables and forwards over HBONE (real TLS
// from the real CA, its own identity) to fake destination ztunnels in front of real backends, through a fake
// waypoint for a Service that asks for it, or over plain TCP to a backend outside the mesh.
import { once } from 'node:events';
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect as h2connect, createServer as createH2Server, type Http2Server } from 'node:http2';
import { connect as netConnect, type AddressInfo } from 'node:net';
import type { ProxyState, RouteRule } from '@ambit/config';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mulberry32 } from '../engine/testing/mulberry32.ts';
import { eventually } from '../testing/harness.ts';
import { freePort, spiffe, startFakeZtunnels, type FakeZtunnels } from '../testing/fake-ztunnels.ts';
import { testCa } from '../testing/local-ca.ts';
import {
  GATEWAY,
  GATEWAY_ID,
  GATEWAY_PROXY,
  gatewayTable,
  route,
  service,
  state,
  unmatched,
  when,
  workload,
} from '../testing/records.ts';
import { WaypointMetrics } from '../telemetry/metrics.ts';
import { Gateway } from './gateway.ts';

interface Seen {
  readonly url: string;
  readonly headers: IncomingMessage['headers'];
  readonly httpVersion: string;
}

interface Backend {
  readonly name: string;
  readonly ip: string;
  readonly port: number;
  readonly seen: Seen[];
  close(): Promise<void>;
}

/** An HTTP/1.1 backend answering its name. */
async function http1Backend(name: string, ip: string): Promise<Backend> {
  const seen: Seen[] = [];
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    req.resume();
    req.once('end', () => {
      seen.push({ url: req.url ?? '', headers: req.headers, httpVersion: req.httpVersion });
      res.writeHead(200, { 'content-type': 'text/plain', 'x-backend': name });
      res.end(`hello from ${name}`);
    });
  });
  server.listen(0, ip);
  await once(server, 'listening');
  return {
    name,
    ip,
    port: (server.address() as AddressInfo).port,
    seen,
    close: () => new Promise((r) => server.close(() => r(undefined))),
  };
}

/** An HTTP/2 (h2c prior knowledge) backend answering its name. */
async function h2Backend(name: string, ip: string): Promise<Backend> {
  const seen: Seen[] = [];
  const server: Http2Server = createH2Server();
  server.on('stream', (stream, headers) => {
    seen.push({
      url: String(headers[':path']),
      headers,
      httpVersion: '2.0',
    });
    stream.respond({ ':status': 200, 'content-type': 'text/plain', 'x-backend': name });
    stream.end(`hello from ${name}`);
  });
  server.listen(0, ip);
  await once(server, 'listening');
  return {
    name,
    ip,
    port: (server.address() as AddressInfo).port,
    seen,
    close: () => new Promise((r) => server.close(() => r(undefined))),
  };
}

interface Answer {
  readonly status: number;
  readonly headers: IncomingMessage['headers'];
  readonly body: string;
}

function get(port: number, host: string, path: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers: { host } });
    req.once('error', reject);
    req.once('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.once('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks).toString(),
        }),
      );
    });
    req.end();
  });
}

async function getH2(port: number, authority: string, path: string): Promise<Answer> {
  const session = h2connect(`http://127.0.0.1:${port}`);
  try {
    return await new Promise<Answer>((resolve, reject) => {
      session.once('error', reject);
      const stream = session.request({ ':method': 'GET', ':path': path, ':authority': authority });
      stream.once('error', reject);
      let headers: IncomingMessage['headers'] = {};
      stream.once('response', (h) => (headers = h as IncomingMessage['headers']));
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.once('end', () =>
        resolve({ status: Number(headers[':status']), headers, body: Buffer.concat(chunks).toString() }),
      );
      stream.end();
    });
  } finally {
    session.close();
  }
}

const HOST = 'bookinfo.example';
const WAYPOINT_IP = '127.0.0.80';
const RATINGS_VIP = '10.96.0.30';

let ztunnels: FakeZtunnels;
let gateway: Gateway;
let metrics: WaypointMetrics;
const accessLog: string[] = [];
const logs: string[] = [];
const backends: Record<string, Backend> = {};
let port: number;
let hostOnlyPort: number;
let config: ProxyState;

beforeAll(async () => {
  const ca = await testCa();
  ztunnels = await startFakeZtunnels(ca);
  const defs: [string, string, 'h1' | 'h2'][] = [
    ['productpage', '127.0.0.71', 'h1'],
    ['reviews-v1', '127.0.0.72', 'h1'],
    ['reviews-v2', '127.0.0.73', 'h1'],
    ['plain', '127.0.0.74', 'h1'],
    ['ratings', '127.0.0.75', 'h1'],
    ['catchall', '127.0.0.76', 'h1'],
    ['h2app', '127.0.0.77', 'h2'],
  ];
  for (const [name, ip, kind] of defs) {
    backends[name] = kind === 'h1' ? await http1Backend(name, ip) : await h2Backend(name, ip);
    // The plain backend is outside the mesh: no ztunnel in front of it.
    if (name !== 'plain') await ztunnels.endpoint(ip, name);
  }
  // The waypoint of `ratings`: a listener presenting the waypoint's certificate, passing the Service VIP on.
  await ztunnels.endpoint(WAYPOINT_IP, 'waypoint');
  ztunnels.redirect(`${RATINGS_VIP}:9080`, `${backends.ratings!.ip}:${backends.ratings!.port}`);

  port = await freePort();
  hostOnlyPort = await freePort();
  const svc = (name: string, vip: string, over = {}) =>
    service(name, vip, 9080, { [`uid-${name}`]: backends[name]!.port }, { waypoint: undefined, ...over });
  const to = (name: string, weight = 1) => ({ service: `default/${name}`, port: 9080, weight });
  const onHost = (path: string) => [when({ hosts: [HOST], path: { pathPrefix: path } })];
  const rules: RouteRule[] = [
    route('productpage', { matches: onHost('/productpage'), backends: [to('productpage')] }),
    route('reviews', { matches: onHost('/reviews'), backends: [to('reviews-v1', 90), to('reviews-v2', 10)] }),
    route('missing', {
      matches: onHost('/missing'),
      backends: [{ service: 'default/nope', port: 80, weight: 1 }],
    }),
    route('plain', { matches: onHost('/plain'), backends: [to('plain')] }),
    route('ratings', { matches: onHost('/ratings'), backends: [to('ratings')] }),
    route('h2app', {
      matches: onHost('/h2app'),
      backends: [{ service: 'default/h2app', port: 9080, weight: 1 }],
    }),
    route('catchall', { matches: [when({ path: { pathPrefix: '/' } })], backends: [to('catchall')] }),
  ];
  config = state({
    workloads: [
      ...defs.map(([name, ip]) => workload(name, ip, name === 'plain' ? { protocol: 'NONE' } : {})),
      workload('waypoint', WAYPOINT_IP, { protocol: 'NONE' }),
    ],
    services: [
      svc('productpage', '10.96.0.10'),
      svc('reviews-v1', '10.96.0.21'),
      svc('reviews-v2', '10.96.0.22'),
      svc('plain', '10.96.0.24'),
      svc('ratings', RATINGS_VIP, {
        waypoint: { namespace: 'default', name: 'waypoint' },
        ingressUseWaypoint: true,
      }),
      svc('catchall', '10.96.0.26'),
      svc('h2app', '10.96.0.27', { ports: [{ name: 'http2', port: 9080, protocol: 'TCP' }] }),
      service('waypoint', '10.96.0.99', 15008, { 'uid-waypoint': 15008 }, { waypoint: undefined }),
    ],
    routeTables: [
      gatewayTable(port, rules),
      gatewayTable(hostOnlyPort, [
        route('only-host', { matches: onHost('/'), backends: [to('productpage')] }),
        unmatched(hostOnlyPort),
      ]),
    ],
  });

  metrics = new WaypointMetrics();
  gateway = new Gateway({
    self: GATEWAY,
    proxyName: GATEWAY_PROXY,
    identity: GATEWAY_ID,
    certs: ca.certificates(),
    metrics,
    log: (l) => logs.push(l),
    accessLog: (l) => accessLog.push(l),
    listenAddress: '127.0.0.1',
    upstreamHbonePort: ztunnels.port,
    rand: mulberry32(11),
  });
  expect(gateway.notReady()).toBe('waiting for the first config');
  await gateway.update(config);
});

afterAll(async () => {
  gateway?.close();
  await ztunnels?.close();
  for (const b of Object.values(backends)) await b.close();
});

const connectsTo = (ip: string) => ztunnels.connects.filter((c) => c.authority.startsWith(`${ip}:`));

describe('gateway', () => {
  it('listens on every port its tables name and is then ready', () => {
    expect([...gateway.listening.keys()].sort()).toEqual([port, hostOnlyPort].sort());
    expect(gateway.notReady()).toBeUndefined();
  });

  it('routes a request for bookinfo.example over HBONE with its own identity → 200 with the body', async () => {
    const before = connectsTo(backends.productpage!.ip).length;
    const r = await get(port, HOST, '/productpage');
    expect(r.status).toBe(200);
    expect(r.body).toBe('hello from productpage');
    const connects = connectsTo(backends.productpage!.ip);
    expect(connects.length).toBeGreaterThan(before);
    expect(connects.at(-1)).toMatchObject({
      authority: `${backends.productpage!.ip}:${backends.productpage!.port}`,
      peerIdentity: GATEWAY_ID,
    });
    const seen = backends.productpage!.seen.at(-1)!;
    expect(seen.headers.host).toBe(HOST);
    expect(seen.headers['x-forwarded-for']).toBe('127.0.0.1');
    expect(seen.headers['x-forwarded-proto']).toBe('http');
    expect(seen.headers['x-request-id']).toBeTruthy();
  });

  it('takes the host-specific rule before the any-host rule, which serves other hosts', async () => {
    expect((await get(port, `${HOST}:${port}`, '/productpage')).body).toBe('hello from productpage');
    expect((await get(port, 'other.example', '/productpage')).body).toBe('hello from catchall');
  });

  it('answers 404 for a host no rule serves on a table with only host-specific rules', async () => {
    expect((await get(hostOnlyPort, HOST, '/anything')).status).toBe(200);
    const r = await get(hostOnlyPort, 'unknown.example', '/anything');
    expect(r.status).toBe(404);
  });

  it('splits 90/10 between two Services (v2 within 4–16 % of 200)', async () => {
    let v2 = 0;
    for (let i = 0; i < 200; i++) {
      const r = await get(port, HOST, '/reviews');
      expect(r.status).toBe(200);
      if (r.body === 'hello from reviews-v2') v2++;
    }
    expect(v2).toBeGreaterThanOrEqual(8);
    expect(v2).toBeLessThanOrEqual(32);
  });

  it('answers 500 for a backend Service that does not exist', async () => {
    const r = await get(port, HOST, '/missing');
    expect(r.status).toBe(500);
  });

  it('reaches a backend outside the mesh over plain TCP (no CONNECT), reusing the connection', async () => {
    // Several, so the kept-alive TCP connection is reused.
    for (let i = 0; i < 3; i++) {
      const r = await get(port, HOST, '/plain');
      expect(r.status).toBe(200);
      expect(r.body).toBe('hello from plain');
    }
    expect(connectsTo(backends.plain!.ip)).toEqual([]);
  });

  it('sends to the waypoint of a Service labelled ingress-use-waypoint, naming the Service address', async () => {
    const r = await get(port, HOST, '/ratings');
    expect(r.status).toBe(200);
    expect(r.body).toBe('hello from ratings');
    const viaWaypoint = ztunnels.connects.filter((c) => c.authority === `${RATINGS_VIP}:9080`);
    expect(viaWaypoint.length).toBeGreaterThan(0);
    expect(viaWaypoint.at(-1)?.peerIdentity).toBe(GATEWAY_ID);
    expect(connectsTo(backends.ratings!.ip)).toEqual([]);
  });

  it('serves an HTTP/2 client, over HTTP/1.1 to an `http` port and over HTTP/2 to an `http2` port', async () => {
    const r = await getH2(port, HOST, '/productpage');
    expect(r.status).toBe(200);
    expect(r.body).toBe('hello from productpage');
    expect(backends.productpage!.seen.at(-1)?.httpVersion).toBe('1.1');
    const h2 = await getH2(port, HOST, '/h2app');
    expect(h2.status).toBe(200);
    expect(h2.body).toBe('hello from h2app');
    expect(backends.h2app!.seen.at(-1)?.headers[':authority']).toBe(HOST);
  });

  it('writes an access log line and counts istio_requests_total as reporter="source"', async () => {
    accessLog.length = 0;
    await get(port, HOST, '/productpage?x=1');
    await eventually(() => accessLog.length > 0, 2_000, 'an access log line');
    const line = JSON.parse(accessLog.at(-1)!) as Record<string, unknown>;
    expect(line).toMatchObject({
      method: 'GET',
      path: '/productpage?x=1',
      authority: HOST,
      protocol: 'HTTP/1.1',
      response_code: 200,
      response_flags: '-',
      upstream_cluster: 'default/productpage',
      upstream_host: `${backends.productpage!.ip}:${backends.productpage!.port}`,
      route_name: 'productpage',
      downstream_remote_address: '127.0.0.1',
      source_principal: null,
      destination_principal: spiffe('productpage'),
    });
    // The id made here is the one the backend saw.
    expect(line.request_id).toBe(backends.productpage!.seen.at(-1)?.headers['x-request-id']);
    const text = await metrics.text();
    const row = text
      .split('\n')
      .find(
        (l) =>
          l.startsWith('istio_requests_total{') &&
          l.includes('destination_service_name="productpage"') &&
          l.includes('response_code="200"'),
      );
    expect(row).toBeDefined();
    expect(row).toContain('reporter="source"');
    expect(row).toContain(`source_workload="${GATEWAY_PROXY}"`);
    expect(row).toContain('source_workload_namespace="default"');
    expect(row).toContain(`source_principal="${GATEWAY_ID}"`);
    expect(row).toContain('destination_workload="productpage"');
    expect(row).toContain('destination_service="productpage.default.svc.cluster.local"');
    expect(row).toContain('connection_security_policy="unknown"');
    expect(text).toMatch(
      /istio_requests_total\{[^}]*destination_service_name="unknown"[^}]*response_code="500"/,
    );
    expect(text).toMatch(/istio_requests_total\{[^}]*response_code="404"/);
  });

  it('follows the config: a port whose table goes away stops accepting', async () => {
    const { routeTables } = config;
    await gateway.update({
      ...config,
      version: 'next',
      routeTables: new Map([...routeTables].filter(([, t]) => t.gateway?.port !== hostOnlyPort)),
    });
    expect([...gateway.listening.keys()]).toEqual([port]);
    const refused = await new Promise<boolean>((resolve) => {
      const s = netConnect({ host: '127.0.0.1', port: hostOnlyPort });
      s.once('connect', () => (s.destroy(), resolve(false)));
      s.once('error', () => resolve(true));
    });
    expect(refused).toBe(true);
    expect((await get(port, HOST, '/productpage')).status).toBe(200);
    await gateway.update(config);
    expect([...gateway.listening.keys()].sort()).toEqual([port, hostOnlyPort].sort());
  });
});
