// Throughput of HBONE against plain TCP on loopback, in one run: one stream and 16 parallel streams, client in this
// process, HboneServer and a TCP sink in a child process (so the two TLS ends do not share one event loop).
// Bounded: HBONE_BENCH_MB (default 1024) per case, and each case gives up after HBONE_BENCH_TIMEOUT_S (default 60).
// Run: node dataplane/hbone/bench/hbone.bench.ts
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { HboneClient } from '../src/client.ts';
import { HboneServer } from '../src/server.ts';
import { createTestPki, type TestWorkload } from '../src/testing/pki.ts';

const MiB = 1024 * 1024;
const TOTAL_MB = Number(process.env.HBONE_BENCH_MB ?? 1024);
const TIMEOUT_MS = Number(process.env.HBONE_BENCH_TIMEOUT_S ?? 60) * 1000;
const PARALLEL = 16;

interface ServerReady {
  readonly sink: string;
  readonly proxy: string;
}

/** The child: a TCP sink that acknowledges EOF with the byte count, and an HboneServer dialing it. */
async function runServer(): Promise<void> {
  const [material] = (await once(process, 'message')) as [TestWorkload];
  const sink = createServer({ allowHalfOpen: true }, (socket) => {
    let bytes = 0;
    socket.on('data', (c: Buffer) => (bytes += c.length));
    socket.on('end', () => socket.end(`${bytes}\n`));
    socket.on('error', () => undefined);
  });
  sink.listen(0, '127.0.0.1');
  await once(sink, 'listening');
  const sinkAddress = `127.0.0.1:${(sink.address() as AddressInfo).port}`;
  const hbone = new HboneServer({
    onConnect: async () => {
      const upstream = connect({
        host: '127.0.0.1',
        port: (sink.address() as AddressInfo).port,
        allowHalfOpen: true,
      });
      await once(upstream, 'connect');
      upstream.setNoDelay(true);
      return { status: 200, upstream };
    },
  });
  const listener = createServer();
  hbone.serve(listener, material);
  listener.listen(0, '127.0.0.1');
  await once(listener, 'listening');
  const ready: ServerReady = {
    sink: sinkAddress,
    proxy: `127.0.0.1:${(listener.address() as AddressInfo).port}`,
  };
  process.send!(ready);
  // Exit with the parent.
  process.on('disconnect', () => process.exit(0));
}

/** Writes `bytes` honouring backpressure, half-closes, and resolves when the sink acknowledges all of it. */
async function push(stream: Duplex, bytes: number): Promise<void> {
  const block = Buffer.alloc(MiB, 0x5a);
  const ack = new Promise<string>((resolve, reject) => {
    let text = '';
    stream.on('data', (c: Buffer) => (text += c.toString()));
    stream.on('end', () => resolve(text.trim()));
    stream.on('error', reject);
  });
  for (let sent = 0; sent < bytes; sent += block.length) {
    const n = Math.min(block.length, bytes - sent);
    if (!stream.write(n === block.length ? block : block.subarray(0, n))) await once(stream, 'drain');
  }
  stream.end();
  const got = await ack;
  if (Number(got) !== bytes) throw new Error(`sink acknowledged ${got} bytes, sent ${bytes}`);
}

async function measure(name: string, open: () => Promise<Duplex>, streams: number): Promise<number> {
  const per = Math.floor((TOTAL_MB * MiB) / streams);
  const opened = await Promise.all(Array.from({ length: streams }, open));
  const start = process.hrtime.bigint();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${name} took over ${TIMEOUT_MS} ms`)), TIMEOUT_MS);
  });
  try {
    await Promise.race([Promise.all(opened.map((s) => push(s, per))), deadline]);
  } finally {
    clearTimeout(timer);
    for (const s of opened) s.destroy();
  }
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const gbits = (per * streams * 8) / seconds / 1e9;
  console.log(
    `${name.padEnd(28)} ${((per * streams) / MiB).toFixed(0).padStart(6)} MiB  ${seconds.toFixed(2).padStart(6)} s  ${gbits.toFixed(2).padStart(6)} Gbit/s`,
  );
  return gbits;
}

async function runClient(): Promise<void> {
  const pki = await createTestPki();
  const [sleep, ztunnel] = await Promise.all([
    pki.issue('default', 'sleep'),
    pki.issue('default', 'ztunnel'),
  ]);
  const child = fork(import.meta.filename, ['server'], { stdio: 'inherit' });
  child.send(ztunnel);
  const [ready] = (await once(child, 'message')) as [ServerReady];
  const client = new HboneClient();
  const [sinkHost, sinkPort] = ready.sink.split(':');
  const direct = async (): Promise<Duplex> => {
    const s: Socket = connect({ host: sinkHost, port: Number(sinkPort), allowHalfOpen: true, noDelay: true });
    await once(s, 'connect');
    return s;
  };
  const hbone = () =>
    client.connect({
      source: sleep,
      destination: { address: ready.sink, proxy: ready.proxy, identities: [ztunnel.identity] },
    });
  console.log(
    `node ${process.version}, loopback, ${TOTAL_MB} MiB per case; client here, HboneServer + sink in a child`,
  );
  try {
    const d1 = await measure('direct TCP, 1 stream', direct, 1);
    const h1 = await measure('HBONE, 1 stream', hbone, 1);
    const d16 = await measure(`direct TCP, ${PARALLEL} streams`, direct, PARALLEL);
    const h16 = await measure(`HBONE, ${PARALLEL} streams`, hbone, PARALLEL);
    console.log(
      `ratio HBONE/direct: 1 stream ${(h1 / d1).toFixed(3)}, ${PARALLEL} streams ${(h16 / d16).toFixed(3)}`,
    );
    console.log(`pooled sessions used: ${client.stats().sessions}`);
  } finally {
    client.destroy();
    child.disconnect();
  }
}

if (process.argv[2] === 'server') await runServer();
else await runClient();
