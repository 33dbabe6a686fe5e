// The benchmark's apps, run inside pod network namespaces (`ip netns exec <pod> node app.ts …`), so their CPU is
// not the ztunnel's. Each client prints one JSON line and exits; sizes and durations are bounded by the caller.
//   server <port>                      sink on <port> (answers the byte count at EOF), echo on <port>+1
//   throughput <host> <port> <MiB> <streams>
//   rr <host> <port> <n> <bytes>       sequential request/response on one connection (echo port)
//   cps <host> <port> <n>              connect, 1-byte echo, close, n times (echo port)
//   rate <host> <port> <perSecond> <seconds> <bytes>   fixed-rate request/response over 4 connections
import { once } from 'node:events';
import net from 'node:net';

const [mode = '', ...args] = process.argv.slice(2);

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

function latencySummary(samplesUs: number[]) {
  const s = [...samplesUs].sort((a, b) => a - b);
  return { n: s.length, p50Us: percentile(s, 50), p99Us: percentile(s, 99) };
}

async function dial(host: string, port: number): Promise<net.Socket> {
  const s = net.connect({ host, port, noDelay: true });
  await once(s, 'connect');
  return s;
}

/** One request/response: write `req`, resolve when as many bytes came back. */
function roundTrip(s: net.Socket, req: Buffer): Promise<void> {
  return new Promise((resolve) => {
    let got = 0;
    const onData = (d: Buffer) => {
      got += d.length;
      if (got >= req.length) {
        s.off('data', onData);
        resolve();
      }
    };
    s.on('data', onData);
    s.write(req);
  });
}

async function main(): Promise<void> {
  switch (mode) {
    case 'server': {
      const port = Number(args[0]);
      net
        .createServer({ allowHalfOpen: true }, (s) => {
          let n = 0;
          s.on('data', (d: Buffer) => (n += d.length));
          s.on('end', () => s.end(String(n)));
          s.on('error', () => undefined);
        })
        .listen(port);
      net
        .createServer({ noDelay: true }, (s) => {
          s.on('error', () => undefined);
          s.pipe(s);
        })
        .listen(port + 1, () => console.log('{"ready":true}'));
      return;
    }
    case 'throughput': {
      const [host = '', port, mib, streams] = args;
      const chunk = Buffer.alloc(256 * 1024, 7);
      const perStream = (Number(mib) * 1024 * 1024) / Number(streams);
      const started = process.hrtime.bigint();
      await Promise.all(
        Array.from({ length: Number(streams) }, async () => {
          const s = await dial(host, Number(port));
          for (let sent = 0; sent < perStream; sent += chunk.length) {
            if (!s.write(chunk)) await once(s, 'drain');
          }
          s.end();
          s.resume();
          await once(s, 'end');
        }),
      );
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      console.log(
        JSON.stringify({ bytes: Number(mib) * 1024 * 1024, ms, gbps: (Number(mib) * 8 * 1.048576) / ms }),
      );
      return;
    }
    case 'rr': {
      const [host = '', port, n, bytes] = args;
      const s = await dial(host, Number(port) + 1);
      const req = Buffer.alloc(Number(bytes), 1);
      const samples: number[] = [];
      for (let i = 0; i < Number(n); i++) {
        const t0 = process.hrtime.bigint();
        await roundTrip(s, req);
        samples.push(Number(process.hrtime.bigint() - t0) / 1000);
      }
      s.destroy();
      console.log(JSON.stringify(latencySummary(samples.slice(Math.floor(samples.length / 10)))));
      return;
    }
    case 'cps': {
      const [host = '', port, n] = args;
      const samples: number[] = [];
      const started = process.hrtime.bigint();
      for (let i = 0; i < Number(n); i++) {
        const t0 = process.hrtime.bigint();
        const s = await dial(host, Number(port) + 1);
        await roundTrip(s, Buffer.from('x'));
        s.destroy();
        samples.push(Number(process.hrtime.bigint() - t0) / 1000);
      }
      const secs = Number(process.hrtime.bigint() - started) / 1e9;
      console.log(JSON.stringify({ ...latencySummary(samples), perSecond: Number(n) / secs }));
      return;
    }
    case 'rate': {
      const [host = '', port, perSecond, seconds, bytes] = args;
      const conns = await Promise.all(Array.from({ length: 4 }, () => dial(host, Number(port) + 1)));
      const req = Buffer.alloc(Number(bytes), 1);
      const total = Number(perSecond) * Number(seconds);
      const interval = 1000 / Number(perSecond);
      const started = Date.now();
      const samples: number[] = [];
      const busy = new Set<net.Socket>();
      for (let i = 0; i < total; i++) {
        const due = started + i * interval;
        const wait = due - Date.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        const s = conns.find((c) => !busy.has(c));
        if (!s) continue; // all four busy: this request is dropped, and counted as such
        busy.add(s);
        const t0 = process.hrtime.bigint();
        void roundTrip(s, req).then(() => {
          samples.push(Number(process.hrtime.bigint() - t0) / 1000);
          busy.delete(s);
        });
      }
      await new Promise((r) => setTimeout(r, 200));
      for (const c of conns) c.destroy();
      console.log(JSON.stringify({ ...latencySummary(samples), sent: samples.length, planned: total }));
      return;
    }
    default:
      console.error(`unknown mode ${mode}`);
      process.exit(2);
  }
}

void main();
