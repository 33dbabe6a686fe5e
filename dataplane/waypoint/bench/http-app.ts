// The benchmark's HTTP/1.1 apps, run inside pod network namespaces (`ip netns exec <pod> node http-app.ts …`), so
// their CPU is neither the waypoint's nor the ztunnels'. Each client prints one JSON line and exits; request counts
// and durations are bounded by the caller. Every request is `POST /bench` with a <bytes> body over keep-alive
// connections; the server answers <bytes> and names the peer address it saw (`x-peer`), so the caller can check
// which path the requests took.
//   server <port> <bytes>                                   prints {"ready":true} once listening
//   latency <host> <port> <n> <bytes>                       n sequential requests on one connection
//   load <host> <port> <concurrency> <seconds> <bytes>      closed loop: <concurrency> connections, each back to back
//   rate <host> <port> <perSecond> <seconds> <bytes>        open loop at a fixed rate (at most 64 in flight)
import { Agent, createServer, request } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';

const [mode = '', ...args] = process.argv.slice(2);
const HOST_HEADER = 'server.bench.svc.cluster.local';
/** Above this many in flight, the rate client drops a request (and counts it) rather than queue it. */
const RATE_MAX_IN_FLIGHT = 64;
const REQUEST_TIMEOUT_MS = 10_000;

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

function summary(samplesUs: readonly number[]) {
  const s = [...samplesUs].sort((a, b) => a - b);
  return { n: s.length, p50Us: Math.round(percentile(s, 50)), p99Us: Math.round(percentile(s, 99)) };
}

interface Client {
  /** One request; resolves with its latency in µs, or rejects. */
  send(): Promise<number>;
  readonly peers: Set<string>;
  /** Requests answered 200 with the whole body, warm-up included. */
  completed: number;
  errors: number;
  close(): void;
}

function client(host: string, port: number, bytes: number, sockets: number): Client {
  const agent = new Agent({ keepAlive: true, maxSockets: sockets, scheduling: 'fifo' });
  const body = Buffer.alloc(bytes, 0x61);
  const peers = new Set<string>();
  const c: Client = {
    peers,
    completed: 0,
    errors: 0,
    close: () => agent.destroy(),
    send: () =>
      new Promise((resolve, reject) => {
        const t0 = process.hrtime.bigint();
        const req = request({
          agent,
          host,
          port,
          method: 'POST',
          path: '/bench',
          headers: { host: HOST_HEADER, 'content-length': String(bytes), 'content-type': 'text/plain' },
        });
        req.once('error', (err) => {
          c.errors++;
          reject(err);
        });
        // A path that stopped answering fails the run instead of hanging it.
        req.setTimeout(REQUEST_TIMEOUT_MS, () =>
          req.destroy(new Error(`no answer in ${REQUEST_TIMEOUT_MS} ms`)),
        );
        req.once('response', (res) => {
          const peer = res.headers['x-peer'];
          if (typeof peer === 'string') peers.add(peer);
          let got = 0;
          res.on('data', (d: Buffer) => (got += d.length));
          res.once('end', () => {
            if (res.statusCode !== 200 || got !== bytes) {
              c.errors++;
              return reject(new Error(`status ${res.statusCode} with ${got} bytes`));
            }
            c.completed++;
            resolve(Number(process.hrtime.bigint() - t0) / 1000);
          });
        });
        req.end(body);
      }),
  };
  return c;
}

function report(c: Client, extra: Record<string, number>, samples: readonly number[]): void {
  const counts = { total: c.completed, errors: c.errors, peers: [...c.peers] };
  console.log(JSON.stringify({ ...summary(samples), ...extra, ...counts }));
}

async function main(): Promise<void> {
  switch (mode) {
    case 'server': {
      const [port, bytes] = args.map(Number);
      const answer = Buffer.alloc(bytes ?? 0, 0x62);
      const server = createServer({ keepAlive: true, noDelay: true }, (req, res) => {
        req.resume();
        req.once('end', () => {
          res.writeHead(200, {
            'content-type': 'text/plain',
            'content-length': String(answer.length),
            'x-peer': req.socket.remoteAddress ?? '',
          });
          res.end(answer);
        });
      });
      server.keepAliveTimeout = 60_000;
      server.listen(port, '0.0.0.0', () => console.log('{"ready":true}'));
      return;
    }
    case 'latency': {
      const [host = '', port, n, bytes] = args;
      const c = client(host, Number(port), Number(bytes), 1);
      const samples: number[] = [];
      for (let i = 0; i < Number(n); i++) samples.push(await c.send());
      c.close();
      // The first tenth warms connections, sessions and the JIT.
      report(c, {}, samples.slice(Math.floor(samples.length / 10)));
      return;
    }
    case 'load': {
      const [host = '', port, concurrency, seconds, bytes] = args;
      const c = client(host, Number(port), Number(bytes), Number(concurrency));
      const samples: number[] = [];
      const warmEnd = Date.now() + Math.min(1_000, Number(seconds) * 200);
      const end = warmEnd + Number(seconds) * 1000;
      await Promise.all(
        Array.from({ length: Number(concurrency) }, async () => {
          while (Date.now() < end) {
            const us = await c.send().catch(() => undefined);
            // Counted once the warm-up is over (connections open, JIT warm).
            if (us !== undefined && Date.now() >= warmEnd) samples.push(us);
          }
        }),
      );
      const secs = (Date.now() - warmEnd) / 1000;
      c.close();
      report(c, { perSecond: Math.round(samples.length / secs), seconds: secs }, samples);
      return;
    }
    case 'rate': {
      const [host = '', port, perSecond, seconds, bytes] = args;
      const c = client(host, Number(port), Number(bytes), RATE_MAX_IN_FLIGHT);
      const total = Number(perSecond) * Number(seconds);
      const interval = 1000 / Number(perSecond);
      const samples: number[] = [];
      let inFlight = 0;
      let dropped = 0;
      const pending: Promise<void>[] = [];
      const t0 = Date.now();
      for (let i = 0; i < total; i++) {
        const wait = t0 + i * interval - Date.now();
        if (wait > 0) await sleep(wait);
        if (inFlight >= RATE_MAX_IN_FLIGHT) {
          dropped++;
          continue;
        }
        inFlight++;
        pending.push(
          c.send().then(
            (us) => {
              samples.push(us);
              inFlight--;
            },
            () => void inFlight--,
          ),
        );
      }
      await Promise.all(pending);
      const secs = (Date.now() - t0) / 1000;
      c.close();
      report(c, { sent: samples.length, planned: total, dropped, perSecond: samples.length / secs }, samples);
      return;
    }
    default:
      console.error(`unknown mode ${mode}`);
      process.exit(2);
  }
}

void main();
