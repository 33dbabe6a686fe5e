// `make bench`: pod→pod through two ztunnels (HBONE across two node netns) against direct TCP between the same two
// pod netns, in the same run, once per transport (ZTUNNEL_BENCH_TRANSPORTS, default both: the TypeScript one and the
// native one), each in netns of its own. The apps run as separate processes inside the pods' netns; the ztunnels run
// in this process (the native transport's threads too), so this process's CPU and RSS during a mesh phase are the
// two ztunnels'. Bounded: fixed byte counts, request counts and durations; all addresses are the test's own netns
// (DESIGN §6).
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseTransport, TRANSPORTS, type TransportKind } from '../src/config/settings.ts';
import { startTwoNodes, type TwoNodes } from '../src/testing/two-nodes.ts';

const APP = join(import.meta.dirname, 'app.ts');
const PORT = 9000;
const MIB = Number(process.env.ZTUNNEL_BENCH_MIB ?? 256);

function inNetns(netns: string, args: string[]) {
  return spawn('ip', ['netns', 'exec', netns, process.execPath, APP, ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
}

async function client<T>(t: TwoNodes, args: string[]): Promise<T> {
  const p = inNetns(t.sandbox.client?.netns ?? '', args);
  let out = '';
  p.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const [code] = (await once(p, 'exit')) as [number];
  if (code !== 0) throw new Error(`bench client ${args.join(' ')} exited ${code}`);
  return JSON.parse(out) as T;
}

interface Throughput {
  gbps: number;
}
interface Latency {
  p50Us: number;
  p99Us: number;
  perSecond?: number;
}

async function phase(t: TwoNodes) {
  const host = t.podIp('server');
  const tp1 = await client<Throughput>(t, ['throughput', host, String(PORT), String(MIB), '1']);
  const tp16 = await client<Throughput>(t, ['throughput', host, String(PORT), String(MIB), '16']);
  const rr = await client<Latency>(t, ['rr', host, String(PORT), '3000', '1024']);
  const cps = await client<Latency>(t, ['cps', host, String(PORT), '400']);
  return { tp1, tp16, rr, cps };
}

interface Run {
  readonly transport: TransportKind;
  readonly direct: Awaited<ReturnType<typeof phase>>;
  readonly mesh: Awaited<ReturnType<typeof phase>>;
  readonly rate: Latency & { sent: number };
  readonly vcpuPer1k: number;
  readonly rssMaxMiB: number;
}

/** One transport: fresh netns, direct first (nothing captured), then both pods enrolled. */
async function measure(transport: TransportKind): Promise<Run> {
  const t = await startTwoNodes(
    `zbn${process.pid % 1000}${transport[0] ?? ''}`,
    [
      { name: 'client', node: 'a', enrolled: false },
      { name: 'server', node: 'b', enrolled: false },
    ],
    { transport },
  );
  const server = inNetns(t.sandbox.server?.netns ?? '', ['server', String(PORT)]);
  try {
    const lines = createInterface({ input: server.stdout });
    for await (const line of lines) if (line.includes('ready')) break;

    const direct = await phase(t);
    for (const pod of ['client', 'server']) t.setWorkload({ ...t.workload(pod), protocol: 'HBONE' });
    t.push();
    await t.enrol('client');
    await t.enrol('server');
    const mesh = await phase(t);

    // CPU and memory of the two ztunnels (this process) under a fixed load of 1,000 requests/s of 1 KiB for 5 s.
    global.gc?.();
    const cpu0 = process.cpuUsage();
    const wall0 = process.hrtime.bigint();
    let rssMax = 0;
    const sampler = setInterval(() => (rssMax = Math.max(rssMax, process.memoryUsage().rss)), 100);
    const rate = await client<Latency & { sent: number; planned: number }>(t, [
      'rate',
      t.podIp('server'),
      String(PORT),
      '1000',
      '5',
      '1024',
    ]);
    clearInterval(sampler);
    const cpu = process.cpuUsage(cpu0);
    const wallS = Number(process.hrtime.bigint() - wall0) / 1e9;
    const vcpuPer1k = (cpu.user + cpu.system) / 1e6 / wallS / (rate.sent / 5 / 1000);
    return { transport, direct, mesh, rate, vcpuPer1k, rssMaxMiB: rssMax / 2 ** 20 };
  } finally {
    server.kill();
    await t.close();
  }
}

function transports(): TransportKind[] {
  const list = process.env.ZTUNNEL_BENCH_TRANSPORTS;
  if (!list) return [...TRANSPORTS];
  return list.split(',').map((name) => parseTransport({ ZTUNNEL_TRANSPORT: name.trim() }));
}

async function main(): Promise<void> {
  const runs: Run[] = [];
  for (const transport of transports()) runs.push(await measure(transport));

  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
  const ratio = (m: number, d: number) => (d === 0 ? 'n/a' : (m / d).toFixed(2));
  type Phase = Run['direct'];
  const measures: [string, (p: Phase) => number][] = [
    ['1 stream (Gbit/s)', (p) => p.tp1.gbps],
    ['16 streams (Gbit/s)', (p) => p.tp16.gbps],
    ['1 KiB req/resp p50 (µs)', (p) => p.rr.p50Us],
    ['1 KiB req/resp p99 (µs)', (p) => p.rr.p99Us],
    ['new connection + 1 B echo p50 (µs)', (p) => p.cps.p50Us],
    ['new connection + 1 B echo p99 (µs)', (p) => p.cps.p99Us],
    ['connections per second', (p) => p.cps.perSecond ?? 0],
  ];
  console.log(
    `\nztunnel benchmark: pod→pod across two node netns (${MIB} MiB per throughput run); ` +
      'each transport in netns of its own, next to direct TCP between the same netns in the same run\n',
  );
  console.log(
    `| measure | direct TCP (mean of ${runs.length}) | ${runs.map((r) => `${r.transport} | ${r.transport}/direct`).join(' | ')} |`,
  );
  console.log(`|---|---|${runs.map(() => '---|---').join('|')}|`);
  for (const [name, pick] of measures) {
    const cells = runs.map((r) => `${pick(r.mesh).toFixed(2)} | ${ratio(pick(r.mesh), pick(r.direct))}`);
    console.log(`| ${name} | ${mean(runs.map((r) => pick(r.direct))).toFixed(2)} | ${cells.join(' | ')} |`);
  }
  console.log('\ndirect TCP in each run:');
  for (const r of runs) {
    console.log(
      `  ${r.transport}: ${measures.map(([name, pick]) => `${name} ${pick(r.direct).toFixed(2)}`).join('; ')}`,
    );
  }
  for (const r of runs) {
    console.log(
      `${r.transport}: at ${(r.rate.sent / 5).toFixed(0)} req/s of 1 KiB (p50 ${r.rate.p50Us} µs, p99 ` +
        `${r.rate.p99Us} µs): both ztunnels ${r.vcpuPer1k.toFixed(3)} vCPU per 1,000 req/s, RSS max ` +
        `${r.rssMaxMiB.toFixed(0)} MiB (one process)`,
    );
  }
}

await main();
