// The native HBONE byte path against the TypeScript one and direct TCP, on loopback, in one run (issue 12):
//   direct      driver ──TCP──► sink
//   TypeScript  driver ──TCP──► client proxy (HboneClient + splice) ══HBONE══► HboneServer ──TCP──► sink
//   native      driver ──TCP──► client proxy (NativeHboneClient)    ══HBONE══► listenHbone ──TCP──► sink
// Four processes, as a pod → ztunnel → ztunnel → pod path has: the driver here, the client-side proxies, the
// server-side proxies and the sink in three children (each child hosts the TypeScript and the native proxy of
// its side; only one carries traffic at a time). Measures one-stream throughput, 1 KiB request/response
// latency on one connection, and new connection + 1-byte echo latency, each next to direct TCP, and the CPU
// time all four processes spent per GiB of the throughput case (steadier than rates on a busy machine). A fourth row,
// native passthrough (driver ──TCP──► native client proxy ──TCP──► sink, one decision per connection), shows
// what one extra hop plus one JavaScript decision costs, apart from TLS and HTTP/2.
// Bounded: HBONE_NATIVE_BENCH_MB (default 2048) per throughput case, HBONE_NATIVE_BENCH_RR (default 3000)
// round trips, HBONE_NATIVE_BENCH_CONNS (default 600) connections, each case abandoned after
// HBONE_NATIVE_BENCH_TIMEOUT_S (default 60). Loopback only. Numbers are noisy on a shared 2-core machine.
// Run (after `make install-native`): node dataplane/native/bench/hbone-native.bench.ts
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { HboneClient, HboneServer, splice } from '@ambit/hbone';
import { createTestPki, type TestWorkload } from '../../hbone/src/testing/pki.ts';
import { listenHbone, NativeHboneClient } from '../src/index.ts';

const MiB = 1024 * 1024;
const TOTAL_MB = Number(process.env.HBONE_NATIVE_BENCH_MB ?? 2048);
const RR_COUNT = Number(process.env.HBONE_NATIVE_BENCH_RR ?? 3000);
const CONN_COUNT = Number(process.env.HBONE_NATIVE_BENCH_CONNS ?? 600);
const TIMEOUT_MS = Number(process.env.HBONE_NATIVE_BENCH_TIMEOUT_S ?? 60) * 1000;
const RR_BYTES = 1024;

type Role = 'sink' | 'server' | 'client';

interface Targets {
  /** Counts bytes until EOF, then answers the count. */
  readonly sink: string;
  /** Echoes. */
  readonly echo: string;
}

interface ServerSide {
  readonly ts: string;
  readonly native: string;
}

/** Entry points of one client-side proxy: one listener per target. */
interface Entries {
  readonly sink: string;
  readonly echo: string;
}

interface ClientSide {
  readonly ts: Entries;
  readonly native: Entries;
  readonly passthrough: Entries;
}

interface ClientSetup {
  readonly source: TestWorkload;
  readonly serverIdentity: string;
  readonly targets: Targets;
  readonly proxies: ServerSide;
}

async function listen(server: Server): Promise<string> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return `127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function hostPort(address: string): { host: string; port: number } {
  const i = address.lastIndexOf(':');
  return { host: address.slice(0, i), port: Number(address.slice(i + 1)) };
}

async function dial(address: string): Promise<Socket> {
  const socket = connect({ ...hostPort(address), allowHalfOpen: true, noDelay: true });
  await once(socket, 'connect');
  return socket;
}

// ------------------------------------------------------------------------------------------- children

async function runSink(): Promise<Targets> {
  const sink = createServer({ allowHalfOpen: true, noDelay: true }, (socket) => {
    let n = 0;
    socket.on('data', (c: Buffer) => (n += c.length));
    socket.on('end', () => socket.end(`${n}\n`));
    socket.on('error', () => undefined);
  });
  const echo = createServer({ allowHalfOpen: true, noDelay: true }, (socket) => {
    socket.on('error', () => undefined);
    socket.pipe(socket);
  });
  return { sink: await listen(sink), echo: await listen(echo) };
}

async function runServerSide(material: TestWorkload): Promise<ServerSide> {
  const ts = new HboneServer({
    onConnect: async (conn) => {
      const upstream = await dial(conn.authority);
      return { status: 200, upstream };
    },
  });
  const listener = createServer({ noDelay: true });
  ts.serve(listener, material);
  const native = listenHbone({
    host: '127.0.0.1',
    port: 0,
    tls: material,
    decide: (c) => ({ status: 200, target: c.authority }),
  });
  return { ts: await listen(listener), native: `127.0.0.1:${native.address.port}` };
}

async function runClientSide(setup: ClientSetup): Promise<ClientSide> {
  const { source, serverIdentity, targets, proxies } = setup;
  const client = new HboneClient();
  const tsEntry = async (authority: string): Promise<string> => {
    const server = createServer({ allowHalfOpen: true, noDelay: true }, (socket) => {
      socket.on('error', () => undefined);
      client
        .connect({
          source,
          destination: { address: authority, proxy: proxies.ts, identities: [serverIdentity] },
          headers: { forwardedFor: socket.remoteAddress ?? '' },
        })
        .then((stream) => splice(socket, stream))
        .catch(() => socket.resetAndDestroy());
    });
    return listen(server);
  };
  const native = new NativeHboneClient();
  native.setCertificate(source.identity, source);
  const nativeEntry = (authority: string): string => {
    const listener = native.listenOutbound({
      host: '127.0.0.1',
      port: 0,
      decide: () => ({
        kind: 'hbone',
        proxy: proxies.native,
        authority,
        sourceIdentity: source.identity,
        identities: [serverIdentity],
      }),
    });
    return `127.0.0.1:${listener.address.port}`;
  };
  const passthroughEntry = (target: string): string => {
    const listener = native.listenOutbound({
      host: '127.0.0.1',
      port: 0,
      decide: () => ({ kind: 'passthrough', target }),
    });
    return `127.0.0.1:${listener.address.port}`;
  };
  return {
    ts: { sink: await tsEntry(targets.sink), echo: await tsEntry(targets.echo) },
    native: { sink: nativeEntry(targets.sink), echo: nativeEntry(targets.echo) },
    passthrough: { sink: passthroughEntry(targets.sink), echo: passthroughEntry(targets.echo) },
  };
}

async function runChild(role: Role): Promise<void> {
  const [input] = (await once(process, 'message')) as [unknown];
  const ready =
    role === 'sink'
      ? await runSink()
      : role === 'server'
        ? await runServerSide(input as TestWorkload)
        : await runClientSide(input as ClientSetup);
  process.send!(ready);
  // CPU time (all threads: the native runtime's too) whenever the driver asks.
  process.on('message', () => process.send!(process.cpuUsage()));
  // Exit with the parent (native listeners would keep this process alive otherwise).
  process.on('disconnect', () => process.exit(0));
}

async function start<T>(role: Role, input: unknown): Promise<{ child: ChildProcess; ready: T }> {
  const child = fork(import.meta.filename, [role], { stdio: 'inherit' });
  child.send(input as object);
  const [ready] = (await once(child, 'message')) as [T];
  return { child, ready };
}

// --------------------------------------------------------------------------------------------- driver

async function withDeadline<T>(what: string, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took over ${TIMEOUT_MS} ms`)), TIMEOUT_MS);
  });
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/** Gbit/s of pushing TOTAL_MB through one connection to the sink and getting its count back. */
async function throughput(entry: string): Promise<number> {
  const bytes = TOTAL_MB * MiB;
  const socket = await dial(entry);
  const block = Buffer.alloc(MiB, 0x5a);
  const start = process.hrtime.bigint();
  const ack = new Promise<string>((resolve, reject) => {
    let text = '';
    socket.on('data', (c: Buffer) => (text += c.toString()));
    socket.on('end', () => resolve(text.trim()));
    socket.on('error', reject);
  });
  for (let sent = 0; sent < bytes; sent += block.length) {
    if (!socket.write(block)) await once(socket, 'drain');
  }
  socket.end();
  const got = await ack;
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  socket.destroy();
  if (Number(got) !== bytes) throw new Error(`sink counted ${got} bytes, sent ${bytes}`);
  return (bytes * 8) / seconds / 1e9;
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

interface Latency {
  readonly p50: number;
  readonly p99: number;
}

function summarize(samplesUs: number[]): Latency {
  samplesUs.sort((a, b) => a - b);
  return { p50: percentile(samplesUs, 50), p99: percentile(samplesUs, 99) };
}

/** Reads exactly `n` bytes. */
function readExactly(socket: Socket, n: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let got = 0;
    const onData = (c: Buffer) => {
      got += c.length;
      if (got >= n) {
        socket.off('data', onData);
        socket.off('error', reject);
        resolve();
      }
    };
    socket.on('data', onData);
    socket.once('error', reject);
  });
}

/** µs per 1 KiB request answered by 1 KiB, on one connection (after a warm-up). */
async function requestResponse(entry: string): Promise<Latency> {
  const socket = await dial(entry);
  const request = Buffer.alloc(RR_BYTES, 0x61);
  const samples: number[] = [];
  for (let i = 0; i < RR_COUNT + 200; i++) {
    const start = process.hrtime.bigint();
    const answered = readExactly(socket, RR_BYTES);
    socket.write(request);
    await answered;
    if (i >= 200) samples.push(Number(process.hrtime.bigint() - start) / 1e3);
  }
  socket.destroy();
  return summarize(samples);
}

/** µs to connect, send one byte and get it back, per connection (after a warm-up). */
async function connectEcho(entry: string): Promise<Latency> {
  const samples: number[] = [];
  const one = Buffer.from('x');
  for (let i = 0; i < CONN_COUNT + 50; i++) {
    const start = process.hrtime.bigint();
    const socket = await dial(entry);
    const answered = readExactly(socket, 1);
    socket.write(one);
    await answered;
    if (i >= 50) samples.push(Number(process.hrtime.bigint() - start) / 1e3);
    socket.destroy();
  }
  return summarize(samples);
}

interface Row {
  readonly gbits: number;
  /** CPU seconds of all four processes per GiB carried, in the throughput case. */
  readonly cpuPerGiB: number;
  readonly rr: Latency;
  readonly conn: Latency;
}

const children: ChildProcess[] = [];

/** User + system CPU seconds of this process and every child so far. */
async function cpuSeconds(): Promise<number> {
  const usages = await Promise.all(
    children.map(async (child) => {
      const answer = once(child, 'message') as Promise<[NodeJS.CpuUsage]>;
      child.send('cpu');
      return (await answer)[0];
    }),
  );
  return [process.cpuUsage(), ...usages].reduce((sum, u) => sum + (u.user + u.system) / 1e6, 0);
}

async function measure(name: string, sink: string, echo: string): Promise<Row> {
  const cpuBefore = await cpuSeconds();
  const gbits = await withDeadline(`${name} throughput`, throughput(sink));
  const cpuPerGiB = ((await cpuSeconds()) - cpuBefore) / (TOTAL_MB / 1024);
  const rr = await withDeadline(`${name} request/response`, requestResponse(echo));
  const conn = await withDeadline(`${name} connect+echo`, connectEcho(echo));
  return { gbits, cpuPerGiB, rr, conn };
}

function us(n: number): string {
  return n.toFixed(0).padStart(6);
}

async function runDriver(): Promise<void> {
  const pki = await createTestPki();
  const [source, server] = await Promise.all([
    pki.issue('default', 'sleep'),
    pki.issue('default', 'ztunnel'),
  ]);
  try {
    const sink = await start<Targets>('sink', {});
    children.push(sink.child);
    const serverSide = await start<ServerSide>('server', server);
    children.push(serverSide.child);
    const setup: ClientSetup = {
      source,
      serverIdentity: server.identity,
      targets: sink.ready,
      proxies: serverSide.ready,
    };
    const clientSide = await start<ClientSide>('client', setup);
    children.push(clientSide.child);
    const entries = clientSide.ready;
    console.log(
      `node ${process.version}, loopback, 4 processes; ${TOTAL_MB} MiB per throughput case, ${RR_COUNT} ` +
        `1 KiB round trips, ${CONN_COUNT} new connections; AMBIT_NATIVE_WORKER_THREADS=` +
        `${process.env.AMBIT_NATIVE_WORKER_THREADS ?? '2 (default)'}. Shared machine: numbers are noisy.`,
    );
    const rows: [string, Row][] = [];
    rows.push(['direct TCP', await measure('direct', sink.ready.sink, sink.ready.echo)]);
    rows.push(['TypeScript HBONE', await measure('TypeScript', entries.ts.sink, entries.ts.echo)]);
    rows.push(['native HBONE', await measure('native', entries.native.sink, entries.native.echo)]);
    rows.push([
      'native passthrough',
      await measure('passthrough', entries.passthrough.sink, entries.passthrough.echo),
    ]);
    const direct = rows[0]![1];
    console.log(
      `${'path'.padEnd(19)} ${'Gbit/s'.padStart(7)} ${'×direct'.padStart(8)} ${'CPU-s/GiB'.padStart(9)}   ` +
        `${'RR p50'.padStart(6)} ${'RR p99'.padStart(6)} ${'+p50'.padStart(6)}   ` +
        `${'conn p50'.padStart(8)} ${'conn p99'.padStart(8)} ${'+p50'.padStart(6)}   (µs)`,
    );
    for (const [name, r] of rows) {
      console.log(
        `${name.padEnd(19)} ${r.gbits.toFixed(2).padStart(7)} ${(r.gbits / direct.gbits).toFixed(3).padStart(8)} ` +
          `${r.cpuPerGiB.toFixed(2).padStart(9)}   ` +
          `${us(r.rr.p50)} ${us(r.rr.p99)} ${us(r.rr.p50 - direct.rr.p50)}   ` +
          `${us(r.conn.p50).padStart(8)} ${us(r.conn.p99).padStart(8)} ${us(r.conn.p50 - direct.conn.p50)}`,
      );
    }
  } finally {
    for (const child of children) child.disconnect();
  }
}

const role = process.argv[2] as Role | undefined;
if (role === 'sink' || role === 'server' || role === 'client') await runChild(role);
else await runDriver();
