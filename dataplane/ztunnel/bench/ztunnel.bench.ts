// `make bench`: pod→pod through two ztunnels (HBONE across two node netns) against direct TCP between the same two
// pod netns, in the same run. The apps run as separate processes inside the pods' netns; the ztunnels run in this
// process, so this process's CPU and RSS during the mesh phase are the two ztunnels'. Bounded: fixed byte counts,
// request counts and durations; all addresses are the test's own netns (DESIGN §6).
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
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

async function main(): Promise<void> {
  const t = await startTwoNodes(`zbn${process.pid % 1000}`, [
    { name: 'client', node: 'a', enrolled: false },
    { name: 'server', node: 'b', enrolled: false },
  ]);
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

    const ratio = (m: number, d: number) => (d === 0 ? 'n/a' : (m / d).toFixed(2));
    const rows = [
      ['1 stream (Gbit/s)', direct.tp1.gbps, mesh.tp1.gbps, ratio(mesh.tp1.gbps, direct.tp1.gbps)],
      ['16 streams (Gbit/s)', direct.tp16.gbps, mesh.tp16.gbps, ratio(mesh.tp16.gbps, direct.tp16.gbps)],
      ['1 KiB req/resp p50 (µs)', direct.rr.p50Us, mesh.rr.p50Us, ratio(mesh.rr.p50Us, direct.rr.p50Us)],
      ['1 KiB req/resp p99 (µs)', direct.rr.p99Us, mesh.rr.p99Us, ratio(mesh.rr.p99Us, direct.rr.p99Us)],
      [
        'new connection + 1 B echo p50 (µs)',
        direct.cps.p50Us,
        mesh.cps.p50Us,
        ratio(mesh.cps.p50Us, direct.cps.p50Us),
      ],
      [
        'new connection + 1 B echo p99 (µs)',
        direct.cps.p99Us,
        mesh.cps.p99Us,
        ratio(mesh.cps.p99Us, direct.cps.p99Us),
      ],
      [
        'connections per second',
        direct.cps.perSecond ?? 0,
        mesh.cps.perSecond ?? 0,
        ratio(mesh.cps.perSecond ?? 0, direct.cps.perSecond ?? 1),
      ],
    ] as const;
    console.log(`\nztunnel benchmark: pod→pod across two node netns (${MIB} MiB per throughput run)\n`);
    console.log('| measure | direct TCP | through two ztunnels | mesh/direct |');
    console.log('|---|---|---|---|');
    for (const [name, d, m, r] of rows) console.log(`| ${name} | ${d.toFixed(2)} | ${m.toFixed(2)} | ${r} |`);
    console.log(
      `\nat ${(rate.sent / 5).toFixed(0)} req/s of 1 KiB (p50 ${rate.p50Us} µs, p99 ${rate.p99Us} µs): both ztunnels ` +
        `${vcpuPer1k.toFixed(3)} vCPU per 1,000 req/s, RSS max ${(rssMax / 2 ** 20).toFixed(0)} MiB (one process)`,
    );
  } finally {
    server.kill();
    await t.close();
  }
}

await main();
