// The L7 path through real network namespaces (issue 6 acceptance, DESIGN §1):
//   sleep ─(in-pod redirect)─► ztunnel(node a) ══HBONE══► waypoint pod (node b) ══HBONE══► ztunnel(node b) ─► productpage
// Pods are made by the CNI plugins on two nodes (the ztunnel's two-nodes fixture); both ztunnels and the waypoint run
// in this process with certificates from one in-process CA. The waypoint pod is not captured (Istio labels waypoint
// pods `istio.io/dataplane-mode: none`): its HBONE listener is opened inside its netns and its upstream dials leave
// from there, as the waypoint process in that pod would. The test plays the apps: an HTTP server in productpage's
// netns, and requests written from the callers' netns without the proxy mark, so their pods' rules capture them.
import { once } from 'node:events';
import { createServer, request, type IncomingHttpHeaders, type Server } from 'node:http';
import net from 'node:net';
import type { Authorization, ProxyState } from '@ambit/config';
import type { HboneClientOptions } from '@ambit/hbone';
import { connectSocket, openListener } from '@ambit/native';
import { CertManager, tlsMaterial } from '@ambit/ztunnel';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localCa } from '../../ztunnel/src/testing/local-ca.ts';
import { policy, service } from '../../ztunnel/src/testing/records.ts';
import { startTwoNodes, type TwoNodes } from '../../ztunnel/src/testing/two-nodes.ts';
import { Waypoint } from './proxy/waypoint.ts';
import { WaypointMetrics } from './telemetry/metrics.ts';
import { eventually } from './testing/harness.ts';
import { allow } from './testing/records.ts';

const TAG = `awp${process.pid % 10000}`;
const VIP = '10.96.0.80';
const REVIEWS_VIP = '10.96.0.90';
const RATINGS_VIP = '10.96.0.91';
const PORT = 9080;
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
): Promise<Answer> {
  const socket = await connectSocket({ netnsPath: t.netnsPath(pod), host: vip, port: PORT });
  socket.on('error', () => undefined);
  try {
    return await new Promise<Answer>((resolve, reject) => {
      const req = request({
        createConnection: () => socket,
        method,
        path,
        headers: { host: `productpage.demo.svc.cluster.local:${PORT}`, connection: 'close' },
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
      req.end();
    });
  } finally {
    socket.destroy();
  }
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
  const fixture = (): TwoNodes => {
    if (!t) throw new Error('fixture not started');
    return t;
  };

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
      req.resume();
      req.once('end', () => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ app: 'productpage', method: req.method, url: req.url }));
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
    const l4: Authorization = policy('demo/allow-waypoint', 'Allow', [
      { principals: ['cluster.local/ns/demo/sa/waypoint'] },
    ]);
    const ztunnelState = f.push({ services, policies: [l4] });
    const l7 = allow(
      'demo/productpage-viewer',
      { principals: ['cluster.local/ns/demo/sa/sleep'] },
      { methods: ['GET'] },
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
      authorizations: new Map([[l7.id, l7]]),
      routeTables: new Map([
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
    console.log(`two nodes, four pods, two ztunnels and a waypoint ready in ${Date.now() - started} ms`);
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

  it('reports the waypoint as the source at the destination ztunnel, and the requests at the waypoint', async () => {
    const f = fixture();
    const destination =
      /istio_tcp_connections_opened_total\{[^}]*reporter="destination"[^}]*source_workload="waypoint"[^}]*destination_workload="productpage"[^}]*\} [1-9]/;
    const deadline = Date.now() + 5_000;
    let zb = await f.metricsB.text();
    while (!destination.test(zb) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
      zb = await f.metricsB.text();
    }
    expect(zb).toMatch(destination);
    expect(zb).not.toMatch(/reporter="destination",source_workload="sleep"/);
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
});
