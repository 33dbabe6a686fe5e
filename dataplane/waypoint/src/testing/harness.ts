// Test-only: a waypoint in-process with everything around it on loopback and real TLS from the real CA:
//  - "destination ztunnels" (fake-ztunnels.ts): a listener per endpoint IP (127.0.0.x) on one shared port,
//    presenting that endpoint workload's certificate and splicing each CONNECT into the backend it names;
//  - backends: whatever servers the test starts on those IPs;
//  - callers: HboneClient sessions presenting a source workload's certificate to the waypoint.
import { once } from 'node:events';
import {
  Agent,
  request,
  type ClientRequest,
  type ClientRequestArgs,
  type IncomingHttpHeaders,
  type OutgoingHttpHeaders,
} from 'node:http';
import { createServer, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { ProxyState } from '@ambit/config';
import { HboneClient, splice, type Connection } from '@ambit/hbone';
import { Waypoint } from '../proxy/waypoint.ts';
import { dropEmptyWrites, endWithPeer, reuseStream } from '../upstream/http1-over-hbone.ts';
import { WaypointMetrics } from '../telemetry/metrics.ts';
import { listenOn, spiffe, startFakeZtunnels } from './fake-ztunnels.ts';
import { testCa, type TestCa, type TestIdentity } from './local-ca.ts';
import { WAYPOINT } from './records.ts';

export const WAYPOINT_ID = 'spiffe://cluster.local/ns/default/sa/waypoint';
export { spiffe };

export interface Harness {
  readonly ca: TestCa;
  readonly waypoint: Waypoint;
  readonly metrics: WaypointMetrics;
  /** `127.0.0.1:<port>` of the waypoint's HBONE listener. */
  readonly address: string;
  readonly accessLog: string[];
  readonly logs: string[];
  /** Every CONNECT the fake destination ztunnels saw. */
  readonly upstreamConnects: Connection[];
  /** Starts a fake destination ztunnel listener on `ip` for the workload `sa` (its certificate). */
  endpoint(ip: string, sa: string, namespace?: string): Promise<void>;
  update(state: ProxyState): void;
  /** A caller presenting `sa`'s certificate, dialing `authority` through the waypoint. */
  caller(sa: string, sourceIp?: string): Promise<Caller>;
  close(): Promise<void>;
}

export interface Caller {
  readonly identity: TestIdentity;
  /** A CONNECT stream to `authority` through the waypoint. */
  open(authority: string): Promise<Duplex>;
  /** One HTTP/1.1 request over the caller's keep-alive agent (CONNECT streams are reused). */
  http(authority: string, opts: HttpOptions): Promise<HttpResult>;
  /** Keep-alive agent whose sockets are CONNECT streams to the waypoint. */
  readonly agent: CallerAgent;
  /** A local TCP port whose connections are tunnelled to `authority` (for clients that want a host:port). */
  forwarder(authority: string): Promise<{ port: number; close(): Promise<void> }>;
}

export interface HttpOptions {
  readonly method?: string;
  readonly path?: string;
  readonly headers?: OutgoingHttpHeaders;
  /** Written in order, each awaited (a streamed body). */
  readonly body?: readonly (string | Buffer)[];
  readonly host?: string;
}

export interface HttpResult {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

export class CallerAgent extends Agent {
  readonly #open: (authority: string) => Promise<Duplex>;
  readonly created: Duplex[] = [];
  constructor(open: (authority: string) => Promise<Duplex>) {
    super({ keepAlive: true, maxSockets: 64 });
    this.#open = open;
  }
  override createConnection(
    o: ClientRequestArgs,
    cb?: (err: Error | null, s: Duplex) => void,
  ): Duplex | null | undefined {
    this.#open(`${o.host}:${o.port}`).then(
      (s) => {
        this.created.push(s);
        // Callers speak HTTP/1.1 over HBONE streams as the waypoint does upstream: the same two guards apply.
        cb?.(null, endWithPeer(dropEmptyWrites(s)));
      },
      (err: Error) => cb?.(err, undefined as unknown as Duplex),
    );
    return undefined;
  }
  override keepSocketAlive(): boolean {
    return true;
  }
  override reuseSocket(socket: Duplex, request: ClientRequest): void {
    reuseStream(socket, request);
  }
}

export async function startHarness(opts: { rand?: () => number } = {}): Promise<Harness> {
  const ca = await testCa();
  const metrics = new WaypointMetrics();
  const accessLog: string[] = [];
  const logs: string[] = [];
  const closers: (() => Promise<void> | void)[] = [];

  const ztunnels = await startFakeZtunnels(ca);

  const waypoint = new Waypoint({
    self: WAYPOINT,
    identity: WAYPOINT_ID,
    certs: ca.certificates(),
    metrics,
    log: (l) => logs.push(l),
    accessLog: (l) => accessLog.push(l),
    upstreamHbonePort: ztunnels.port,
    ...(opts.rand ? { rand: opts.rand } : {}),
  });
  const listener = createServer({ allowHalfOpen: true });
  const served = await waypoint.serve(listener);
  const address = `127.0.0.1:${await listenOn(listener, '127.0.0.1')}`;
  closers.push(
    () => served.close(),
    () => new Promise((r) => listener.close(() => r(undefined))),
  );

  const clients: HboneClient[] = [];
  const harness: Harness = {
    ca,
    waypoint,
    metrics,
    address,
    accessLog,
    logs,
    upstreamConnects: ztunnels.connects,
    endpoint: (ip, sa, namespace) => ztunnels.endpoint(ip, sa, namespace),
    update: (s) => waypoint.update(s),
    caller: async (sa, sourceIp = '10.0.0.5') => {
      const identity = await ca.issue(spiffe(sa));
      const client = new HboneClient();
      clients.push(client);
      const open = (authority: string) =>
        client.connect({
          source: identity,
          destination: { address: authority, proxy: address, identities: [WAYPOINT_ID] },
          headers: { forwardedFor: sourceIp },
        });
      const agent = new CallerAgent(open);
      closers.push(() => agent.destroy());
      return {
        identity,
        open,
        agent,
        http: (authority, o) => httpOver(agent, authority, o),
        forwarder: async (authority) => {
          const sockets = new Set<Socket>();
          const server = createServer({ allowHalfOpen: true }, (socket) => {
            sockets.add(socket);
            socket.on('error', () => undefined);
            open(authority).then(
              (stream) => void splice(socket, stream),
              () => socket.destroy(),
            );
          });
          const port = await listenOn(server, '127.0.0.1');
          return {
            port,
            close: async () => {
              for (const s of sockets) s.destroy();
              await new Promise((r) => server.close(() => r(undefined)));
            },
          };
        },
      };
    },
    close: async () => {
      // Sessions first (a listener's close waits for its connections), then the listeners.
      for (const c of clients) c.destroy();
      waypoint.close();
      await ztunnels.close();
      for (const c of closers.reverse()) await c();
    },
  };
  return harness;
}

export function httpOver(agent: Agent, authority: string, o: HttpOptions): Promise<HttpResult> {
  const colon = authority.lastIndexOf(':');
  return new Promise((resolve, reject) => {
    const req: ClientRequest = request({
      agent,
      host: authority.slice(0, colon),
      port: Number(authority.slice(colon + 1)),
      method: o.method ?? 'GET',
      path: o.path ?? '/',
      headers: { host: o.host ?? 'productpage.default.svc.cluster.local', ...o.headers },
    });
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
      res.once('error', reject);
    });
    void (async () => {
      for (const chunk of o.body ?? []) {
        if (!req.write(chunk)) await once(req, 'drain');
        await new Promise((r) => setTimeout(r, 5));
      }
      req.end();
    })();
  });
}

/** Polls `check` until it holds or `ms` pass (DESIGN §8: deadlines polled, never sleeps). */
export async function eventually(check: () => boolean, ms = 5_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
