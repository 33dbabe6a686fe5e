// The L7 path through real network namespaces (issue 6 acceptance, DESIGN §1):
//   sleep ─(in-pod redirect)─► ztunnel(node a) ══HBONE══► waypoint pod (node b) ══HBONE══► ztunnel(node b) ─► productpage
// Pods are made by the CNI plugins on two nodes (the ztunnel's two-nodes fixture); both ztunnels and the waypoint run
// in this process with certificates from one in-process CA. The waypoint pod is not captured (Istio labels waypoint
// pods `istio.io/dataplane-mode: none`): its HBONE listener is opened inside its netns and its upstream dials leave
// from there, as the waypoint process in that pod would. The test plays the apps: an HTTP server in productpage's
// netns, and requests written from the callers' netns without the proxy mark, so their pods' rules capture them.
// The gRPC client is @grpc/grpc-js, dialling a loopback port whose connections are re-made from sleep's netns
// (testing/netns-forwarder.ts); the gRPC server is @grpc/grpc-js too, fed the connections accepted in its pod.
import { once } from 'node:events';
import {
  createServer,
  request,
  type IncomingHttpHeaders,
  type RequestListener,
  type Server,
} from 'node:http';
import net from 'node:net';
import {
  credentials,
  makeGenericClientConstructor,
  Metadata,
  Server as GrpcServer,
  ServerCredentials,
  status as grpcStatus,
  type CallOptions,
  type ClientDuplexStream,
  type ClientReadableStream,
  type ServerDuplexStream,
  type ServerUnaryCall,
  type ServerWritableStream,
  type ServiceDefinition,
  type ServiceError,
  type StatusObject,
  type sendUnaryData,
} from '@grpc/grpc-js';
import type { Authorization, ProxyState } from '@ambit/config';
import type { HboneClientOptions } from '@ambit/hbone';
import { connectSocket, openListener } from '@ambit/native';
import { CertManager, tlsMaterial } from '@ambit/ztunnel';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localCa } from '../../ztunnel/src/testing/local-ca.ts';
import { policy, service } from '../../ztunnel/src/testing/records.ts';
import { startTwoNodes, type TwoNodes } from '../../ztunnel/src/testing/two-nodes.ts';
import { Waypoint } from './proxy/waypoint.ts';
import type { AccessLogEntry } from './telemetry/access-log.ts';
import { WaypointMetrics } from './telemetry/metrics.ts';
import { eventually } from './testing/harness.ts';
import { netnsForwarder, type NetnsForwarder } from './testing/netns-forwarder.ts';
import { allow } from './testing/records.ts';

const TAG = `awp${process.pid % 10000}`;
const VIP = '10.96.0.80';
const REVIEWS_VIP = '10.96.0.90';
const RATINGS_VIP = '10.96.0.91';
const SLOW_VIP = '10.96.0.92';
const ECHO_VIP = '10.96.0.93';
const DETAILS_VIP = '10.96.0.94';
const GRPC_VIP = '10.96.0.95';
const PORT = 9080;
const GRPC_PORT = 9090;
const HBONE_PORT = 15008;
const SELF = { namespace: 'demo', name: 'waypoint' } as const;
const WAYPOINT_ID = 'spiffe://cluster.local/ns/demo/sa/waypoint';

interface Answer {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

/** One HTTP/1.1 request written by an "app" in `pod`'s netns (no proxy mark: its rules send it to the ztunnel). */
async function appRequest(
  t: TwoNodes,
  pod: string,
  method: string,
  path: string,
  vip: string = VIP,
  body?: Buffer,
): Promise<Answer> {
  const socket = await connectSocket({ netnsPath: t.netnsPath(pod), host: vip, port: PORT });
  socket.on('error', () => undefined);
  try {
    return await new Promise<Answer>((resolve, reject) => {
      const req = request({
        createConnection: () => socket,
        method,
        path,
        headers: {
          host: `productpage.demo.svc.cluster.local:${PORT}`,
          connection: 'close',
          ...(body ? { 'content-length': body.length } : {}),
        },
        timeout: 10_000,
      });
      req.once('timeout', () => req.destroy(new Error(`${method} ${path} from ${pod}: no answer in 10 s`)));
      req.once('error', reject);
      req.once('response', (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.once('error', reject);
        res.once('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString(),
          }),
        );
      });
      req.end(body);
    });
  } finally {
    socket.destroy();
  }
}

/** The gRPC service both ends speak: raw bytes, so the test needs no protobuf. */
const raw = { serialize: (b: Buffer) => b, deserialize: (b: Buffer) => b };
const method = (name: string, requestStream: boolean, responseStream: boolean) => ({
  path: `/test.Echo/${name}`,
  requestStream,
  responseStream,
  requestSerialize: raw.serialize,
  requestDeserialize: raw.deserialize,
  responseSerialize: raw.serialize,
  responseDeserialize: raw.deserialize,
});
const echoDefinition: ServiceDefinition = {
  unary: method('Unary', false, false),
  stream: method('Stream', false, true),
  bidi: method('Bidi', true, true),
};

interface EchoClient {
  unary(
    req: Buffer,
    md: Metadata,
    options: CallOptions,
    cb: (err: ServiceError | null, res?: Buffer) => void,
  ): NodeJS.EventEmitter;
  stream(req: Buffer, md: Metadata, options: CallOptions): ClientReadableStream<Buffer>;
  bidi(md: Metadata, options: CallOptions): ClientDuplexStream<Buffer, Buffer>;
  close(): void;
}

/** The echo app: a trailer on every call; `missing` answers NOT_FOUND (a non-OK status in the trailers). */
const echoImplementation = {
  unary: (call: ServerUnaryCall<Buffer, Buffer>, cb: sendUnaryData<Buffer>) => {
    const trailer = new Metadata();
    trailer.set('x-trailer', 'unary');
    if (call.request.toString() === 'missing') {
      return cb({ code: grpcStatus.NOT_FOUND, details: 'no such thing', metadata: trailer });
    }
    cb(null, Buffer.from(`pong:${call.request.toString()}`), trailer);
  },
  stream: (call: ServerWritableStream<Buffer, Buffer>) => {
    for (let i = 0; i < 5; i++) call.write(Buffer.from(`${call.request.toString()}-${i}`));
    const trailer = new Metadata();
    trailer.set('x-trailer', 'stream');
    call.end(trailer);
  },
  bidi: (call: ServerDuplexStream<Buffer, Buffer>) => {
    call.on('data', (b: Buffer) => call.write(Buffer.from(`echo:${b.toString()}`)));
    call.on('end', () => {
      const trailer = new Metadata();
      trailer.set('x-trailer', 'bidi');
      call.end(trailer);
    });
  },
};

/** A unary call's answer and its status (trailers included). */
function grpcUnary(
  client: EchoClient,
  req: string,
): Promise<{ err: ServiceError | null; res?: Buffer; status: StatusObject }> {
  return new Promise((resolve) => {
    let result: { err: ServiceError | null; res?: Buffer } | undefined;
    let st: StatusObject | undefined;
    const done = () => result && st && resolve({ ...result, status: st });
    const call = client.unary(
      Buffer.from(req),
      new Metadata(),
      { deadline: Date.now() + 10_000 },
      (err, res) => {
        result = { err, ...(res ? { res } : {}) };
        done();
      },
    );
    call.on('status', (s: StatusObject) => {
      st = s;
      done();
    });
  });
}

describe('waypoint chain through network namespaces', { timeout: 120_000 }, () => {
  let t: TwoNodes | undefined;
  let waypoint: Waypoint | undefined;
  let listener: net.Server | undefined;
  let productpage: Server | undefined;
  const certs: CertManager[] = [];
  const extraServers: Server[] = [];
  const metrics = new WaypointMetrics();
  const waypointLogs: string[] = [];
  const accessLog: string[] = [];
  /** What the productpage server received: method, path and the source address it saw. */
  const seen: { method: string; url: string; peer: string }[] = [];
  /** Requests each of the other HTTP apps received, by pod. */
  const hits = new Map<string, number>();
  let grpcServer: GrpcServer | undefined;
  let grpcListener: net.Server | undefined;
  let grpcForwarder: NetnsForwarder | undefined;
  let grpcClient: EchoClient | undefined;
  /** The source address of every connection the gRPC app accepted. */
  const grpcPeers: string[] = [];
  const fixture = (): TwoNodes => {
    if (!t) throw new Error('fixture not started');
    return t;
  };
  const echoClient = (): EchoClient => {
    if (!grpcClient) throw new Error('gRPC client not started');
    return grpcClient;
  };
  /** The waypoint's access log lines for one path. */
  const logged = (path: string): AccessLogEntry[] =>
    accessLog.map((l) => JSON.parse(l) as AccessLogEntry).filter((e) => e.path === path);

  beforeAll(async () => {
    const started = Date.now();
    const ca = await localCa();
    t = await startTwoNodes(
      TAG,
      [
        { name: 'sleep', node: 'a', enrolled: true },
        { name: 'notsleep', node: 'a', enrolled: true },
        { name: 'productpage', node: 'b', enrolled: true },
        { name: 'reviews-v1', node: 'b', enrolled: true },
        { name: 'reviews-v2', node: 'b', enrolled: true },
        { name: 'ratings-ok', node: 'b', enrolled: true },
        { name: 'ratings-flaky', node: 'b', enrolled: true },
        { name: 'slow', node: 'b', enrolled: true },
        { name: 'echo', node: 'b', enrolled: true },
        { name: 'details-ok', node: 'b', enrolled: true },
        { name: 'details-bad', node: 'b', enrolled: true },
        { name: 'grpc-echo', node: 'b', enrolled: true },
        // Not captured (no rules, no handover), but reached over HBONE: peers dial it on 15008.
        { name: 'waypoint', node: 'b', enrolled: false },
      ],
      { ca },
    );
    const f = t;
    f.setWorkload({ ...f.workload('waypoint'), protocol: 'HBONE' });

    // The app: answers 200 with its method and path, from inside productpage's netns.
    productpage = createServer((req, res) => {
      seen.push({ method: req.method ?? '', url: req.url ?? '', peer: req.socket.remoteAddress ?? '' });
      const body: Buffer[] = [];
      req.on('data', (c: Buffer) => body.push(c));
      req.once('end', () => {
        const all = Buffer.concat(body);
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({
            app: 'productpage',
            method: req.method,
            url: req.url,
            ...(all.length > 0 ? { bytes: all.length, first: all[0], last: all[all.length - 1] } : {}),
          }),
        );
      });
    });
    productpage.listen({
      fd: openListener({ netnsPath: f.netnsPath('productpage'), host: '0.0.0.0', port: PORT }),
    });
    await once(productpage, 'listening');
    for (const version of ['v1', 'v2']) {
      const reviews = createServer((_req, res) => res.end(version));
      reviews.listen({
        fd: openListener({ netnsPath: f.netnsPath(`reviews-${version}`), host: '0.0.0.0', port: PORT }),
      });
      await once(reviews, 'listening');
      extraServers.push(reviews);
    }
    // ratings: one endpoint always answers 200, the other fails every second request with 503.
    let flaky = 0;
    for (const [pod, handler] of [
      ['ratings-ok', () => 200],
      ['ratings-flaky', () => (++flaky % 2 === 0 ? 503 : 200)],
    ] as const) {
      const ratings = createServer((_req, res) => {
        res.statusCode = handler();
        res.end(pod);
      });
      ratings.listen({ fd: openListener({ netnsPath: f.netnsPath(pod), host: '0.0.0.0', port: PORT }) });
      await once(ratings, 'listening');
      extraServers.push(ratings);
    }
    // slow answers after 1 s (unless its caller went away first); echo at once; details-bad always 503.
    const app = async (pod: string, handler: RequestListener) => {
      const server = createServer((req, res) => {
        hits.set(pod, (hits.get(pod) ?? 0) + 1);
        handler(req, res);
      });
      server.listen({ fd: openListener({ netnsPath: f.netnsPath(pod), host: '0.0.0.0', port: PORT }) });
      await once(server, 'listening');
      extraServers.push(server);
    };
    await app('slow', (_req, res) => {
      const timer = setTimeout(() => res.end('slow'), 1_000);
      res.once('close', () => clearTimeout(timer));
    });
    await app('echo', (_req, res) => res.end('echo'));
    await app('details-ok', (_req, res) => res.end('details-ok'));
    await app('details-bad', (_req, res) => {
      res.statusCode = 503;
      res.end('details-bad');
    });
    // The gRPC app: a grpc-js server fed each connection accepted in its pod (it speaks h2c only).
    grpcServer = new GrpcServer();
    grpcServer.addService(echoDefinition, echoImplementation);
    const injector = grpcServer.createConnectionInjector(ServerCredentials.createInsecure());
    grpcListener = net.createServer((socket) => {
      grpcPeers.push(socket.remoteAddress ?? '');
      injector.injectConnection(socket);
    });
    grpcListener.listen({
      fd: openListener({ netnsPath: f.netnsPath('grpc-echo'), host: '0.0.0.0', port: GRPC_PORT }),
    });
    await once(grpcListener, 'listening');

    // The config. The ztunnels get the Services and an L4 policy allowing only the waypoint's service account in
    // `demo` (DESIGN §8: behind a waypoint, the destination ztunnel sees the waypoint's identity, so that is what
    // users allow there). The waypoint gets the same records plus the L7 policy as the control plane sends it to
    // a waypoint; a policy with an `l7` half never reaches a ztunnel (DESIGN §7).
    const services = [
      service('productpage', {
        namespace: 'demo',
        vips: [VIP],
        ports: [{ name: 'http', port: PORT, protocol: 'TCP' }],
        waypoint: SELF,
        endpoints: [{ workloadUid: f.workload('productpage').uid, ports: { [PORT]: PORT }, ready: true }],
      }),
      service('waypoint', {
        namespace: 'demo',
        vips: ['10.96.0.81'],
        ports: [{ name: 'mesh', port: HBONE_PORT, protocol: 'TCP' }],
        endpoints: [
          { workloadUid: f.workload('waypoint').uid, ports: { [HBONE_PORT]: HBONE_PORT }, ready: true },
        ],
      }),
    ];
    const reviewsEndpoint = (pod: string) => ({
      workloadUid: f.workload(pod).uid,
      ports: { [PORT]: PORT },
      ready: true,
    });
    services.push(
      service('reviews', {
        namespace: 'demo',
        vips: [REVIEWS_VIP],
        ports: [{ name: 'http', port: PORT, protocol: 'TCP' }],
        waypoint: SELF,
        endpoints: [reviewsEndpoint('reviews-v1'), reviewsEndpoint('reviews-v2')],
      }),
      service('ratings', {
        namespace: 'demo',
        vips: [RATINGS_VIP],
        ports: [{ name: 'http', port: PORT, protocol: 'TCP' }],
        waypoint: SELF,
        endpoints: [reviewsEndpoint('ratings-ok'), reviewsEndpoint('ratings-flaky')],
      }),
    );
    for (const [name, vip, pods] of [
      ['slow', SLOW_VIP, ['slow']],
      ['echo', ECHO_VIP, ['echo']],
      ['details', DETAILS_VIP, ['details-ok', 'details-bad']],
    ] as const) {
      services.push(
        service(name, {
          namespace: 'demo',
          vips: [vip],
          ports: [{ name: 'http', port: PORT, protocol: 'TCP' }],
          waypoint: SELF,
          endpoints: pods.map(reviewsEndpoint),
        }),
      );
    }
    services.push(
      service('grpc-echo', {
        namespace: 'demo',
        vips: [GRPC_VIP],
        ports: [{ name: 'grpc', port: GRPC_PORT, protocol: 'TCP', appProtocol: 'grpc' }],
        waypoint: SELF,
        endpoints: [
          { workloadUid: f.workload('grpc-echo').uid, ports: { [GRPC_PORT]: GRPC_PORT }, ready: true },
        ],
      }),
    );
    const l4: Authorization = policy('demo/allow-waypoint', 'Allow', [
      { principals: ['cluster.local/ns/demo/sa/waypoint'] },
    ]);
    const ztunnelState = f.push({ services, policies: [l4] });
    const l7 = allow(
      'demo/productpage-viewer',
      { principals: ['cluster.local/ns/demo/sa/sleep'] },
      { methods: ['GET'] },
    );
    // gRPC calls are POSTs: sa/sleep may make them to the echo service's methods only.
    const grpcL7 = allow(
      'demo/grpc-caller',
      { principals: ['cluster.local/ns/demo/sa/sleep'] },
      { methods: ['POST'], paths: ['/test.Echo/*'] },
    );
    // The reviews 90/10 split between subsets, as the control plane sends it (VirtualService + DestinationRule).
    const source = {
      group: 'networking.istio.io',
      kind: 'VirtualService',
      namespace: 'demo',
      name: 'reviews',
    };
    const waypointState: ProxyState = {
      ...ztunnelState,
      authorizations: new Map([
        [l7.id, l7],
        [grpcL7.id, grpcL7],
      ]),
      routeTables: new Map([
        [
          'demo/slow',
          {
            id: 'demo/slow',
            service: 'demo/slow',
            protocol: 'HTTP',
            sources: [{ ...source, name: 'slow' }],
            rules: [
              {
                name: 'VirtualService/demo/slow#0',
                matches: [],
                backends: [{ service: 'demo/slow', port: PORT, weight: 100 }],
                timeoutMs: 100,
                mirrors: [],
              },
            ],
          },
        ],
        [
          'demo/echo',
          {
            id: 'demo/echo',
            service: 'demo/echo',
            protocol: 'HTTP',
            sources: [{ ...source, name: 'echo' }],
            rules: [
              {
                name: 'VirtualService/demo/echo#0',
                matches: [],
                backends: [{ service: 'demo/echo', port: PORT, weight: 100 }],
                fault: { abort: { status: 503, percent: 50 } },
                mirrors: [],
              },
            ],
          },
        ],
        [
          'demo/ratings',
          {
            id: 'demo/ratings',
            service: 'demo/ratings',
            protocol: 'HTTP',
            sources: [{ ...source, name: 'ratings' }],
            rules: [
              {
                name: 'VirtualService/demo/ratings#0',
                matches: [],
                backends: [{ service: 'demo/ratings', port: PORT, weight: 100 }],
                retry: { attempts: 3, retryOn: ['5xx'], retriableStatusCodes: [] },
                mirrors: [],
              },
            ],
          },
        ],
        [
          'demo/reviews',
          {
            id: 'demo/reviews',
            service: 'demo/reviews',
            protocol: 'HTTP',
            sources: [source],
            rules: [
              {
                name: 'VirtualService/demo/reviews#0',
                matches: [],
                backends: [
                  { service: 'demo/reviews', port: PORT, subset: 'v1', weight: 90 },
                  { service: 'demo/reviews', port: PORT, subset: 'v2', weight: 10 },
                ],
                mirrors: [],
              },
            ],
          },
        ],
      ]),
      destinationPolicies: new Map([
        [
          'demo/reviews',
          {
            id: 'demo/reviews',
            service: 'demo/reviews',
            trafficPolicy: {},
            subsets: [
              { name: 'v1', workloads: [f.workload('reviews-v1').uid] },
              { name: 'v2', workloads: [f.workload('reviews-v2').uid] },
            ],
            source: { ...source, kind: 'DestinationRule' },
          },
        ],
        [
          // Two consecutive 5xx eject an endpoint for a minute (longer than the test); 100 % lets one of two go.
          'demo/details',
          {
            id: 'demo/details',
            service: 'demo/details',
            trafficPolicy: {
              outlierDetection: {
                consecutive5xxErrors: 2,
                intervalMs: 1_000,
                baseEjectionTimeMs: 60_000,
                maxEjectionPercent: 100,
              },
            },
            subsets: [],
            source: { ...source, kind: 'DestinationRule', name: 'details' },
          },
        ],
      ]),
    };

    // The waypoint, in its pod: certificates from the ztunnels' CA, HBONE listener and upstream dials in its netns.
    const netnsPath = f.netnsPath('waypoint');
    const cm = new CertManager({ source: ca });
    certs.push(cm);
    const hbone: HboneClientOptions = {
      socketFactory: async ({ host, port }) => {
        const s = await connectSocket({ netnsPath, host, port });
        s.setNoDelay(true);
        return s;
      },
    };
    waypoint = new Waypoint({
      self: SELF,
      identity: WAYPOINT_ID,
      certs: {
        get: async (id) => tlsMaterial(await cm.get(id)),
        peek: (id) => {
          const c = cm.peek(id);
          return c && tlsMaterial(c);
        },
      },
      metrics,
      log: (l) => waypointLogs.push(l),
      accessLog: (l) => accessLog.push(l),
      hboneClient: hbone,
    });
    waypoint.update(waypointState);
    listener = net.createServer({ allowHalfOpen: true, noDelay: true });
    await waypoint.serve(listener);
    listener.listen({ fd: openListener({ netnsPath, host: '0.0.0.0', port: HBONE_PORT }) });
    await once(listener, 'listening');
    // The gRPC caller: a grpc-js channel whose connections are made from sleep's netns (captured there).
    grpcForwarder = await netnsForwarder(f.netnsPath('sleep'), GRPC_VIP, GRPC_PORT);
    const Client = makeGenericClientConstructor(echoDefinition, 'Echo');
    grpcClient = new Client(`127.0.0.1:${grpcForwarder.port}`, credentials.createInsecure(), {
      'grpc.default_authority': `grpc-echo.demo.svc.cluster.local:${GRPC_PORT}`,
    }) as unknown as EchoClient;
    console.log(`two nodes, thirteen pods, two ztunnels and a waypoint ready in ${Date.now() - started} ms`);
  });

  afterAll(async () => {
    if (waypointLogs.length) console.log(`waypoint:\n${waypointLogs.slice(-20).join('\n')}`);
    if (t?.logs.length) console.log(`ztunnels:\n${t.logs.slice(-20).join('\n')}`);
    // Every step is bounded, so that a connection left hanging by a failed test cannot keep the network
    // namespaces alive: the ztunnels are drained here first (the fixture's close drains them again, at once).
    const bounded = async (what: string, p: Promise<unknown> | undefined, ms = 5_000) => {
      let timer: NodeJS.Timeout | undefined;
      const expired = new Promise<boolean>((r) => (timer = setTimeout(() => r(true), ms)));
      if (await Promise.race([p?.then(() => false), expired]))
        console.log(`afterAll: ${what} took over ${ms} ms`);
      clearTimeout(timer);
    };
    grpcClient?.close();
    await bounded('gRPC forwarder', grpcForwarder?.close());
    grpcServer?.forceShutdown();
    if (grpcListener?.listening) await bounded('gRPC listener', new Promise((r) => grpcListener?.close(r)));
    await bounded('waypoint drain', waypoint?.drain(0));
    if (listener?.listening) await bounded('waypoint listener', new Promise((r) => listener?.close(r)));
    for (const x of extraServers) x.closeAllConnections();
    for (const x of extraServers) await bounded('reviews', new Promise((r) => x.close(r)));
    if (productpage) {
      productpage.closeAllConnections();
      await bounded('productpage', new Promise((r) => productpage?.close(r)));
    }
    for (const c of certs) c.stop();
    await bounded('ztunnel node-a drain', t?.za.drain(0));
    await bounded('ztunnel node-b drain', t?.zb.drain(0));
    await t?.close();
  });

  it('carries GET /productpage from sa/sleep through the waypoint to the app: 200', async () => {
    const f = fixture();
    const t0 = Date.now();
    const r = await appRequest(f, 'sleep', 'GET', '/productpage');
    console.log(`first GET through both hops in ${Date.now() - t0} ms`);
    expect(r.status, r.body).toBe(200);
    expect(JSON.parse(r.body)).toMatchObject({ app: 'productpage', method: 'GET', url: '/productpage' });
    // The app saw it, from the waypoint's address (the destination ztunnel delivers from its HBONE peer's IP).
    expect(seen).toEqual([{ method: 'GET', url: '/productpage', peer: f.podIp('waypoint') }]);
    const t1 = Date.now();
    expect((await appRequest(f, 'sleep', 'GET', '/productpage?again=1')).status).toBe(200);
    console.log(`second GET (pooled sessions) in ${Date.now() - t1} ms`);
  });

  it('carries request bodies through the chain byte for byte (10 requests of 1 KiB, head and body in one write)', async () => {
    // The head, the body and end() leave the waypoint in one batch: see dropEmptyWrites (upstream/http1-over-hbone.ts).
    const f = fixture();
    for (let i = 0; i < 10; i++) {
      const body = Buffer.alloc(1024, 97 + i);
      body[body.length - 1] = 65 + i;
      const r = await appRequest(f, 'sleep', 'GET', `/upload/${i}`, VIP, body);
      expect(r.status, r.body).toBe(200);
      expect(JSON.parse(r.body)).toEqual({
        app: 'productpage',
        method: 'GET',
        url: `/upload/${i}`,
        bytes: 1024,
        first: 97 + i,
        last: 65 + i,
      });
    }
  });

  it('denies DELETE from sa/sleep at the waypoint: 403 RBAC: access denied, never reaching the app', async () => {
    const before = seen.length;
    const r = await appRequest(fixture(), 'sleep', 'DELETE', '/productpage');
    expect(r.status).toBe(403);
    expect(r.body).toBe('RBAC: access denied');
    expect(seen.length).toBe(before);
  });

  it('denies GET from sa/notsleep: 403', async () => {
    const before = seen.length;
    const r = await appRequest(fixture(), 'notsleep', 'GET', '/productpage');
    expect(r.status).toBe(403);
    expect(r.body).toBe('RBAC: access denied');
    expect(seen.length).toBe(before);
  });

  it('reports the caller the waypoint forwarded as the source at the destination ztunnel, and the requests at the waypoint', async () => {
    // DESIGN §8: the destination ztunnel's policy sees the waypoint (the app saw its address, test 1), while its
    // telemetry labels the original caller, which the waypoint carries in the CONNECT's baggage.
    const f = fixture();
    const destination =
      /istio_tcp_connections_opened_total\{[^}]*reporter="destination"[^}]*source_workload="sleep"[^}]*source_principal="spiffe:\/\/cluster.local\/ns\/demo\/sa\/sleep"[^}]*destination_workload="productpage"[^}]*\} [1-9]/;
    const deadline = Date.now() + 5_000;
    let zb = await f.metricsB.text();
    while (!destination.test(zb) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
      zb = await f.metricsB.text();
    }
    expect(zb).toMatch(destination);
    expect(zb).not.toMatch(
      /reporter="destination",source_workload="waypoint"[^}]*destination_workload="productpage"/,
    );
    await eventually(() => accessLog.length >= 4, 5_000, 'four access log lines');
    const text = await metrics.text();
    const requests = (code: number) =>
      new RegExp(
        `istio_requests_total\\{[^}]*reporter="waypoint"[^}]*source_principal="spiffe://cluster.local/ns/demo/sa/(not)?sleep"[^}]*response_code="${code}"[^}]*\\} [1-9]`,
      );
    expect(text).toMatch(requests(200));
    expect(text).toMatch(requests(403));
  });

  it('splits reviews 90/10 between subsets through the whole chain (DESIGN §8: v2 within 4–16 % of 200)', async () => {
    const f = fixture();
    let v2 = 0;
    for (let i = 0; i < 200; i++) {
      const r = await appRequest(f, 'sleep', 'GET', '/reviews', REVIEWS_VIP);
      expect(r.status).toBe(200);
      if (r.body === 'v2') v2++;
    }
    console.log(`reviews v2 share through the chain: ${v2 / 2} %`);
    expect(v2).toBeGreaterThanOrEqual(8);
    expect(v2).toBeLessThanOrEqual(32);
  });

  it('retries a failing endpoint on another host through the chain: at least 99 % of 100 requests succeed', async () => {
    const f = fixture();
    let ok = 0;
    for (let i = 0; i < 100; i++) {
      if ((await appRequest(f, 'sleep', 'GET', '/ratings', RATINGS_VIP)).status === 200) ok++;
    }
    console.log(`ratings success with retries through the chain: ${ok} of 100`);
    expect(ok).toBeGreaterThanOrEqual(99);
  });

  it('answers 504 at the route timeout (100 ms) when the backend takes 1 s, long before the backend would', async () => {
    const f = fixture();
    const before = hits.get('slow') ?? 0;
    const t0 = Date.now();
    const r = await appRequest(f, 'sleep', 'GET', '/slow', SLOW_VIP);
    const elapsed = Date.now() - t0;
    console.log(`route timeout 100 ms on a 1 s backend through the chain: ${r.status} after ${elapsed} ms`);
    expect(r.status, r.body).toBe(504);
    expect(r.body).toBe('upstream request timeout');
    // A generous deadline (DESIGN §8): the tight figure is the benchmark's business.
    expect(elapsed).toBeGreaterThanOrEqual(100);
    expect(elapsed).toBeLessThan(800);
    // It reached the app: the waypoint timed it out, nothing before it failed.
    await eventually(() => (hits.get('slow') ?? 0) > before, 5_000, 'the slow app to see the request');
    await eventually(() => logged('/slow').length > 0, 5_000, 'the access log line');
    expect(logged('/slow')[0]).toMatchObject({
      response_code: 504,
      response_flags: 'UT',
      route_name: 'VirtualService/demo/slow#0',
      upstream_cluster: 'demo/slow',
    });
  });

  it('aborts about half the requests with fault injection (abort 50 %, 503): 5xx share within 35–65 % of 200', async () => {
    const f = fixture();
    const before = hits.get('echo') ?? 0;
    let aborted = 0;
    let ok = 0;
    for (let i = 0; i < 200; i++) {
      const r = await appRequest(f, 'sleep', 'GET', '/echo', ECHO_VIP);
      if (r.status >= 500) {
        expect(r.status).toBe(503);
        expect(r.body).toBe('fault filter abort');
        aborted++;
      } else {
        expect(r.status).toBe(200);
        expect(r.body).toBe('echo');
        ok++;
      }
    }
    console.log(`fault abort share through the chain: ${aborted / 2} % of 200`);
    expect(aborted).toBeGreaterThanOrEqual(70);
    expect(aborted).toBeLessThanOrEqual(130);
    // An aborted request never leaves the waypoint: the app saw exactly the others.
    expect((hits.get('echo') ?? 0) - before).toBe(ok);
    await eventually(() => logged('/echo').length === 200, 5_000, '200 access log lines');
    expect(logged('/echo').filter((e) => e.response_flags === 'FI').length).toBe(aborted);
  });

  it('ejects an always-failing endpoint after 2 consecutive 5xx: it gets no request afterwards (100 requests)', async () => {
    const f = fixture();
    const answers: { status: number; body: string; badHits: number }[] = [];
    for (let i = 0; i < 100; i++) {
      const r = await appRequest(f, 'sleep', 'GET', '/details', DETAILS_VIP);
      answers.push({ status: r.status, body: r.body, badHits: hits.get('details-bad') ?? 0 });
    }
    const ejected = answers.findIndex((a) => a.badHits >= 2);
    const ok = answers.filter((a) => a.status === 200).length;
    console.log(
      `outlier detection through the chain: details-bad ejected at request ${ejected + 1}; ${ok} of 100 succeeded`,
    );
    // Exactly consecutive5xxErrors requests reached it, each answered 503 to the caller (the route has no retry)…
    expect(hits.get('details-bad')).toBe(2);
    expect(answers.filter((a) => a.status !== 200)).toEqual([
      { status: 503, body: 'details-bad', badHits: 1 },
      { status: 503, body: 'details-bad', badHits: 2 },
    ]);
    // …early (both endpoints are picked alike: failing twice only after the 40th has odds below 1e-10)…
    expect(ejected).toBeGreaterThanOrEqual(1);
    expect(ejected).toBeLessThan(40);
    // …and from then on every request went to the healthy one.
    expect(answers.slice(ejected + 1).every((a) => a.status === 200 && a.body === 'details-ok')).toBe(true);
    expect(ok).toBe(98);
  });

  it('carries a gRPC unary call through the chain as HTTP/2, trailers intact (grpc-status 0, x-trailer)', async () => {
    const f = fixture();
    const r = await grpcUnary(echoClient(), 'ping');
    expect(r.err).toBeNull();
    expect(r.res?.toString()).toBe('pong:ping');
    expect(r.status.code).toBe(grpcStatus.OK);
    expect(r.status.metadata.get('x-trailer')).toEqual(['unary']);
    // The app's connection came from the waypoint (the L7 hop), which read the caller's HTTP/2 prior knowledge.
    expect(grpcPeers.length).toBeGreaterThan(0);
    expect(new Set(grpcPeers)).toEqual(new Set([f.podIp('waypoint')]));
    await eventually(() => logged('/test.Echo/Unary').length > 0, 5_000, 'the access log line');
    expect(logged('/test.Echo/Unary')[0]).toMatchObject({
      protocol: 'HTTP/2',
      response_code: 200,
      upstream_cluster: 'demo/grpc-echo',
      source_principal: 'spiffe://cluster.local/ns/demo/sa/sleep',
    });
  });

  it('carries a non-OK gRPC status with its message and trailer, and reports grpc_response_status', async () => {
    const r = await grpcUnary(echoClient(), 'missing');
    expect(r.err?.code).toBe(grpcStatus.NOT_FOUND);
    expect(r.err?.details).toBe('no such thing');
    expect(r.status.metadata.get('x-trailer')).toEqual(['unary']);
    const reported =
      /istio_requests_total\{[^}]*request_protocol="grpc"[^}]*grpc_response_status="5"[^}]*\} 1/;
    const deadline = Date.now() + 5_000;
    let text = await metrics.text();
    while (!reported.test(text) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
      text = await metrics.text();
    }
    expect(text).toMatch(reported);
  });

  it('carries a gRPC server-streaming call through the chain: five messages, then the trailers', async () => {
    const call = echoClient().stream(Buffer.from('item'), new Metadata(), { deadline: Date.now() + 10_000 });
    const st = new Promise<StatusObject>((resolve) => call.on('status', resolve));
    const items: string[] = [];
    for await (const chunk of call) items.push((chunk as Buffer).toString());
    const s = await st;
    expect(items).toEqual(['item-0', 'item-1', 'item-2', 'item-3', 'item-4']);
    expect(s.code).toBe(grpcStatus.OK);
    expect(s.metadata.get('x-trailer')).toEqual(['stream']);
  });

  it('carries a gRPC bidirectional stream message by message (each answer before the next request)', async () => {
    const call = echoClient().bidi(new Metadata(), { deadline: Date.now() + 10_000 });
    const st = new Promise<StatusObject>((resolve) => call.on('status', resolve));
    const answers: string[] = [];
    for (const word of ['one', 'two', 'three']) {
      const next = once(call, 'data') as Promise<[Buffer]>;
      call.write(Buffer.from(word));
      const [answer] = await next;
      answers.push(answer.toString());
    }
    call.end();
    const s = await st;
    expect(answers).toEqual(['echo:one', 'echo:two', 'echo:three']);
    expect(s.code).toBe(grpcStatus.OK);
    expect(s.metadata.get('x-trailer')).toEqual(['bidi']);
  });
});
