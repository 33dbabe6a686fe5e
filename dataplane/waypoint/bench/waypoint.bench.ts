// `make bench`: HTTP/1.1 request/response between the same client and server pods (two node netns) over three paths,
// in one run:
//   direct          client ─► server (no capture)
//   ztunnel         client ─(redirect)─► ztunnel a ══HBONE══► ztunnel b ─► server          (a Service with no waypoint)
//   waypoint        client ─(redirect)─► ztunnel a ══HBONE══► waypoint ══HBONE══► ztunnel b ─► server
// For each: latency p50/p99 of sequential requests on one keep-alive connection, and the most requests per second a
// closed loop of WAYPOINT_BENCH_CONCURRENCY connections gets (with its p50/p99). Then, at a fixed
// WAYPOINT_BENCH_RATE req/s, the CPU and RSS of the waypoint and of the ztunnels, per 1,000 req/s.
// Who runs where: the apps are processes in their pods' netns (http-app.ts); the waypoint is its own process in its
// pod's netns (waypoint-process.ts), so its CPU (process.cpuUsage) and RSS are its own; the two ztunnels run in
// this process (the two-nodes fixture), so this process's CPU during a mesh run is theirs (plus an idle event loop).
// Bounded: fixed counts and durations; every address is the bench's own netns (DESIGN §6). Knobs:
//   WAYPOINT_BENCH_SECONDS (5)  WAYPOINT_BENCH_REQUESTS (2000)  WAYPOINT_BENCH_CONCURRENCY (16)
//   WAYPOINT_BENCH_RATE (1000)  WAYPOINT_BENCH_BYTES (1024)
// Prints a markdown table, then one JSON line (`{"bench":"waypoint",…}`).
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { once } from 'node:events';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import type { RouteTable } from '@ambit/config';
import { localCa } from '../../ztunnel/src/testing/local-ca.ts';
import { service } from '../../ztunnel/src/testing/records.ts';
import { startTwoNodes, type TwoNodes } from '../../ztunnel/src/testing/two-nodes.ts';
import { allow } from '../src/testing/records.ts';

const APP = join(import.meta.dirname, 'http-app.ts');
const WAYPOINT = join(import.meta.dirname, 'waypoint-process.ts');
const PORT = 8080;
const HBONE_PORT = 15008;
const PLAIN_VIP = '10.96.1.10';
const ROUTED_VIP = '10.96.1.11';
const WAYPOINT_VIP = '10.96.1.12';
const WAYPOINT_ID = 'spiffe://cluster.local/ns/demo/sa/waypoint';

function knob(name: string, def: number): number {
  const v = Number(process.env[name] ?? def);
  if (!Number.isFinite(v) || v <= 0) throw new Error(`${name} must be a positive number`);
  return v;
}
const SECONDS = knob('WAYPOINT_BENCH_SECONDS', 5);
const REQUESTS = Math.round(knob('WAYPOINT_BENCH_REQUESTS', 2000));
const CONCURRENCY = Math.round(knob('WAYPOINT_BENCH_CONCURRENCY', 16));
const RATE = Math.round(knob('WAYPOINT_BENCH_RATE', 1000));
const BYTES = Math.round(knob('WAYPOINT_BENCH_BYTES', 1024));

interface Result {
  /** Measured requests (after warm-up). */
  n: number;
  /** Requests completed, warm-up included. */
  total: number;
  p50Us: number;
  p99Us: number;
  errors: number;
  peers: string[];
  perSecond?: number;
  sent?: number;
  planned?: number;
  dropped?: number;
}

function inNetns(netns: string, script: string, args: string[]) {
  return spawn('ip', ['netns', 'exec', netns, process.execPath, script, ...args], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
}

/** Runs one client in the client pod; fails on any error, or when the server saw another peer than `peer`. */
async function client(t: TwoNodes, args: string[], peer?: string): Promise<Result> {
  const p = inNetns(t.sandbox.client?.netns ?? '', APP, args);
  let out = '';
  p.stdout.on('data', (d: Buffer) => (out += d.toString()));
  p.stderr.pipe(process.stderr);
  // Every client stops by itself; this only bounds a wedged one.
  const limit = setTimeout(() => p.kill('SIGKILL'), (SECONDS * 3 + 60) * 1000);
  const [code] = (await once(p, 'exit')) as [number];
  clearTimeout(limit);
  if (code !== 0) throw new Error(`bench client ${args.join(' ')} exited ${code}`);
  const r = JSON.parse(out) as Result;
  if (r.errors > 0) throw new Error(`bench client ${args.join(' ')}: ${r.errors} failed requests`);
  if (peer !== undefined && (r.peers.length !== 1 || r.peers[0] !== peer)) {
    throw new Error(`bench client ${args.join(' ')}: server saw ${r.peers.join(', ')}, expected ${peer}`);
  }
  return r;
}

interface ProcessStats {
  user: number;
  system: number;
  rss: number;
  rssMax: number;
}

/** The waypoint process, with its stats protocol (waypoint-process.ts). */
class WaypointProcess {
  readonly #p: ChildProcessByStdio<Writable, Readable, Readable>;
  readonly #waiting: ((s: ProcessStats) => void)[] = [];
  readonly exited: Promise<unknown>;
  accessLogLines = 0;

  constructor(p: ChildProcessByStdio<Writable, Readable, Readable>) {
    this.#p = p;
    this.exited = once(p, 'exit');
    // The access log (one JSON line per request, as in production): counted, to check the waypoint served them.
    createInterface({ input: p.stdout }).on('line', () => this.accessLogLines++);
  }

  static async start(netns: string, config: string, certificate: string): Promise<WaypointProcess> {
    const w = new WaypointProcess(inNetns(netns, WAYPOINT, [config, certificate]));
    const lines = createInterface({ input: w.#p.stderr });
    const ready = new Promise<void>((resolve, reject) => {
      void w.exited.then(() => reject(new Error('the waypoint process exited before it was ready')));
      lines.on('line', (line) => {
        if (line === 'ready') return resolve();
        if (line.startsWith('stats ')) return w.#waiting.shift()?.(JSON.parse(line.slice(6)) as ProcessStats);
        process.stderr.write(`waypoint: ${line}\n`);
      });
    });
    await ready;
    return w;
  }

  stats(): Promise<ProcessStats> {
    return new Promise((resolve, reject) => {
      if (this.#p.exitCode !== null || this.#p.signalCode !== null)
        return reject(new Error('the waypoint process exited'));
      this.#waiting.push(resolve);
      void this.exited.then(() => reject(new Error('the waypoint process exited')));
      this.#p.stdin.write('stats\n');
    });
  }

  async stop(): Promise<void> {
    this.#p.stdin.end();
    const timer = setTimeout(() => this.#p.kill('SIGKILL'), 5_000);
    await this.exited;
    clearTimeout(timer);
  }
}

interface Usage {
  /** This process: the two ztunnels (vCPU = CPU seconds per wall second). */
  readonly ztunnelsVcpu: number;
  readonly ztunnelsRssMiB: number;
  readonly waypointVcpu?: number;
  readonly waypointRssMiB?: number;
}

/** CPU and RSS of the waypoint process (when given) and of this process over `run`. */
async function withUsage<T>(
  waypoint: WaypointProcess | undefined,
  run: () => Promise<T>,
): Promise<Usage & { readonly result: T }> {
  const w0 = await waypoint?.stats();
  const self0 = process.cpuUsage();
  const wall0 = process.hrtime.bigint();
  let selfRssMax = 0;
  const sampler = setInterval(() => (selfRssMax = Math.max(selfRssMax, process.memoryUsage.rss())), 100);
  const result = await run();
  clearInterval(sampler);
  const wallS = Number(process.hrtime.bigint() - wall0) / 1e9;
  const self = process.cpuUsage(self0);
  const w1 = await waypoint?.stats();
  const vcpu = (a: { user: number; system: number }, b: { user: number; system: number }) =>
    (b.user + b.system - a.user - a.system) / 1e6 / wallS;
  return {
    result,
    ztunnelsVcpu: (self.user + self.system) / 1e6 / wallS,
    ztunnelsRssMiB: selfRssMax / 2 ** 20,
    ...(w0 && w1 ? { waypointVcpu: vcpu(w0, w1), waypointRssMiB: w1.rssMax / 2 ** 20 } : {}),
  };
}

interface PathResult {
  readonly latency: Result;
  readonly load: Result;
  /** CPU and RSS during the closed loop (the waypoint's only on the waypoint path). */
  readonly loadUsage: Usage;
}

/** Latency on one connection, then the closed loop, checking the server saw `peer` (which path was taken). */
async function measurePath(
  t: TwoNodes,
  host: string,
  peer: string,
  waypoint?: WaypointProcess,
): Promise<PathResult> {
  const latency = await client(t, ['latency', host, String(PORT), String(REQUESTS), String(BYTES)], peer);
  const loadArgs = ['load', host, String(PORT), String(CONCURRENCY), String(SECONDS), String(BYTES)];
  const { result: load, ...loadUsage } = await withUsage(waypoint, () => client(t, loadArgs, peer));
  return { latency, load, loadUsage };
}

async function main(): Promise<void> {
  const ca = await localCa();
  const t = await startTwoNodes(
    `wbn${process.pid % 1000}`,
    [
      { name: 'client', node: 'a', enrolled: false },
      { name: 'server', node: 'b', enrolled: false },
      // Not captured (Istio labels waypoint pods dataplane-mode none), reached over HBONE on 15008.
      { name: 'waypoint', node: 'b', enrolled: false },
    ],
    { ca },
  );
  const server = inNetns(t.sandbox.server?.netns ?? '', APP, ['server', String(PORT), String(BYTES)]);
  server.stderr.pipe(process.stderr);
  let waypoint: WaypointProcess | undefined;
  try {
    for await (const line of createInterface({ input: server.stdout })) if (line.includes('ready')) break;

    // 1. Direct: no pod is captured yet.
    const direct = await measurePath(t, t.podIp('server'), t.podIp('client'));

    // 2 and 3. Enrol the client and the server; one Service without a waypoint, one with.
    for (const pod of ['client', 'server', 'waypoint'])
      t.setWorkload({ ...t.workload(pod), protocol: 'HBONE' });
    const endpoint = (pod: string, port: number) => ({
      workloadUid: t.workload(pod).uid,
      ports: { [port]: port },
      ready: true,
    });
    const http = [{ name: 'http', port: PORT, protocol: 'TCP' }];
    const self = { namespace: 'demo', name: 'waypoint' };
    const services = [
      service('plain', {
        namespace: 'demo',
        vips: [PLAIN_VIP],
        ports: http,
        endpoints: [endpoint('server', PORT)],
      }),
      service('routed', {
        namespace: 'demo',
        vips: [ROUTED_VIP],
        ports: http,
        waypoint: self,
        endpoints: [endpoint('server', PORT)],
      }),
      service('waypoint', {
        namespace: 'demo',
        vips: [WAYPOINT_VIP],
        ports: [{ name: 'mesh', port: HBONE_PORT, protocol: 'TCP' }],
        endpoints: [endpoint('waypoint', HBONE_PORT)],
      }),
    ];
    const state = t.push({ services });
    await t.enrol('client');
    await t.enrol('server');

    // The waypoint does its usual work per request: an L7 ALLOW (method and path) and a VirtualService route.
    const l7 = allow(
      'demo/bench-caller',
      { principals: ['cluster.local/ns/demo/sa/client'] },
      { methods: ['POST'], paths: ['/bench'] },
    );
    const route: RouteTable = {
      id: 'demo/routed',
      service: 'demo/routed',
      protocol: 'HTTP',
      sources: [{ group: 'networking.istio.io', kind: 'VirtualService', namespace: 'demo', name: 'routed' }],
      rules: [
        {
          name: 'VirtualService/demo/routed#0',
          matches: [{ path: { prefix: '/bench' }, headers: [], queryParams: [] }],
          backends: [{ service: 'demo/routed', port: PORT, weight: 100 }],
          timeoutMs: 15_000,
          mirrors: [],
        },
      ],
    };
    const configPath = join(t.work, 'waypoint-config.json');
    await writeFile(
      configPath,
      JSON.stringify({
        workloads: [...state.workloads.values()],
        services: [...state.services.values()],
        authorizations: [l7],
        routeTables: [route],
        destinationPolicies: [],
      }),
    );
    const certificatePath = join(t.work, 'waypoint-certificate.json');
    await writeFile(certificatePath, JSON.stringify(await ca.fetch(WAYPOINT_ID)), { mode: 0o600 });
    waypoint = await WaypointProcess.start(t.sandbox.waypoint?.netns ?? '', configPath, certificatePath);
    const wp = waypoint;

    // The destination ztunnel delivers from its HBONE peer's address: the client's, or the waypoint's.
    const ztunnel = await measurePath(t, PLAIN_VIP, t.podIp('client'));
    const logged0 = wp.accessLogLines;
    const viaWaypoint = await measurePath(t, ROUTED_VIP, t.podIp('waypoint'), wp);
    const rateArgs = (host: string) => [
      'rate',
      host,
      String(PORT),
      String(RATE),
      String(SECONDS),
      String(BYTES),
    ];
    const ztunnelRate = await withUsage(undefined, () => client(t, rateArgs(PLAIN_VIP), t.podIp('client')));
    const waypointRate = await withUsage(wp, () => client(t, rateArgs(ROUTED_VIP), t.podIp('waypoint')));
    // Every request sent through the waypoint has its access log line (written as its answer goes out).
    const sentThroughWaypoint =
      viaWaypoint.latency.total + viaWaypoint.load.total + waypointRate.result.total;
    const deadline = Date.now() + 2_000;
    while (wp.accessLogLines - logged0 < sentThroughWaypoint && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 20));
    const servedByWaypoint = wp.accessLogLines - logged0;

    const ratio = (m: number, d: number) => (d === 0 ? 'n/a' : (m / d).toFixed(2));
    const row = (name: string, f: (p: PathResult) => number) =>
      [name, f(direct), f(ztunnel), f(viaWaypoint)] as const;
    const rows = [
      row('latency p50 (µs), 1 connection', (p) => p.latency.p50Us),
      row('latency p99 (µs), 1 connection', (p) => p.latency.p99Us),
      row(`max req/s, ${CONCURRENCY} connections`, (p) => p.load.perSecond ?? 0),
      row('p50 (µs) at max req/s', (p) => p.load.p50Us),
      row('p99 (µs) at max req/s', (p) => p.load.p99Us),
    ];
    const achieved = (r: Result) => r.perSecond ?? 0;
    const per1k = (vcpu: number | undefined, r: Result) =>
      achieved(r) > 0 ? (vcpu ?? 0) / (achieved(r) / 1000) : 0;
    const usage = {
      atRate: {
        planned: RATE,
        waypointPath: {
          perSecond: achieved(waypointRate.result),
          dropped: waypointRate.result.dropped ?? 0,
          p50Us: waypointRate.result.p50Us,
          p99Us: waypointRate.result.p99Us,
          waypointVcpuPer1k: per1k(waypointRate.waypointVcpu, waypointRate.result),
          waypointRssMiB: waypointRate.waypointRssMiB ?? 0,
          ztunnelsVcpuPer1k: per1k(waypointRate.ztunnelsVcpu, waypointRate.result),
        },
        ztunnelPath: {
          perSecond: achieved(ztunnelRate.result),
          dropped: ztunnelRate.result.dropped ?? 0,
          p50Us: ztunnelRate.result.p50Us,
          p99Us: ztunnelRate.result.p99Us,
          ztunnelsVcpuPer1k: per1k(ztunnelRate.ztunnelsVcpu, ztunnelRate.result),
          ztunnelsRssMiB: ztunnelRate.ztunnelsRssMiB,
        },
      },
      atMax: {
        waypointVcpu: viaWaypoint.loadUsage.waypointVcpu ?? 0,
        waypointVcpuPer1k: per1k(viaWaypoint.loadUsage.waypointVcpu, viaWaypoint.load),
        waypointRssMiB: viaWaypoint.loadUsage.waypointRssMiB ?? 0,
        ztunnelsVcpuPer1kWaypointPath: per1k(viaWaypoint.loadUsage.ztunnelsVcpu, viaWaypoint.load),
        ztunnelsVcpuPer1kZtunnelPath: per1k(ztunnel.loadUsage.ztunnelsVcpu, ztunnel.load),
      },
    };

    console.log(
      `\nwaypoint benchmark: HTTP/1.1 keep-alive, POST of ${BYTES} B answered with ${BYTES} B, client and server` +
        ` pods on two node netns (${REQUESTS} sequential requests; ${SECONDS} s closed loops)\n`,
    );
    console.log(
      '| measure | direct | ztunnel only | ztunnel→waypoint→ztunnel | ztunnel/direct | waypoint/direct |',
    );
    console.log('|---|---|---|---|---|---|');
    for (const [name, d, z, w] of rows)
      console.log(`| ${name} | ${d} | ${z} | ${w} | ${ratio(z, d)} | ${ratio(w, d)} |`);
    const at = usage.atRate;
    console.log(
      `\nat a planned ${RATE} req/s for ${SECONDS} s:` +
        `\n- via the waypoint: ${at.waypointPath.perSecond.toFixed(0)} req/s (p50 ${at.waypointPath.p50Us} µs, p99 ` +
        `${at.waypointPath.p99Us} µs, ${at.waypointPath.dropped} dropped); waypoint ` +
        `${at.waypointPath.waypointVcpuPer1k.toFixed(3)} vCPU per 1,000 req/s, RSS max ` +
        `${at.waypointPath.waypointRssMiB.toFixed(0)} MiB (its own process); both ztunnels ` +
        `${at.waypointPath.ztunnelsVcpuPer1k.toFixed(3)} vCPU per 1,000 req/s` +
        `\n- ztunnels only: ${at.ztunnelPath.perSecond.toFixed(0)} req/s (p50 ${at.ztunnelPath.p50Us} µs, p99 ` +
        `${at.ztunnelPath.p99Us} µs, ${at.ztunnelPath.dropped} dropped); both ztunnels ` +
        `${at.ztunnelPath.ztunnelsVcpuPer1k.toFixed(3)} vCPU per 1,000 req/s, RSS max ` +
        `${at.ztunnelPath.ztunnelsRssMiB.toFixed(0)} MiB (the bench process)` +
        `\n- in the closed loop through the waypoint, the waypoint used ${usage.atMax.waypointVcpu.toFixed(2)} vCPU ` +
        `(${usage.atMax.waypointVcpuPer1k.toFixed(3)} per 1,000 req/s), RSS max ${usage.atMax.waypointRssMiB.toFixed(0)} MiB;` +
        ` both ztunnels ${usage.atMax.ztunnelsVcpuPer1kWaypointPath.toFixed(3)} vCPU per 1,000 req/s (ztunnel-only loop:` +
        ` ${usage.atMax.ztunnelsVcpuPer1kZtunnelPath.toFixed(3)})` +
        `\n- the waypoint wrote ${servedByWaypoint} access log lines for the ${sentThroughWaypoint} requests sent` +
        ' through it',
    );
    console.log(
      JSON.stringify({
        bench: 'waypoint',
        settings: {
          seconds: SECONDS,
          requests: REQUESTS,
          concurrency: CONCURRENCY,
          rate: RATE,
          bytes: BYTES,
        },
        direct,
        ztunnel,
        waypoint: viaWaypoint,
        usage,
        waypointAccessLogLines: servedByWaypoint,
        sentThroughWaypoint,
      }),
    );
  } finally {
    await waypoint?.stop();
    server.kill();
    await t.close();
  }
}

await main();
