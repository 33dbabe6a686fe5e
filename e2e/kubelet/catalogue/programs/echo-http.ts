// The `ambit/echo-http` image: answers every request with JSON describing it and the pod that served it.
import { createServer } from 'node:http';
import { hostname } from 'node:os';
import { describeRequest, parseEchoArgs } from './echo-lib.ts';

const DEFAULT_PORT = 8080;

const args = parseEchoArgs(process.argv.slice(2), process.env, DEFAULT_PORT);
const servers = args.ports.map((port) => {
  const server = createServer((req, res) => {
    let bodyBytes = 0;
    req.on('data', (b: Buffer) => (bodyBytes += b.length));
    req.on('end', () => {
      const body = describeRequest(
        {
          method: req.method ?? 'GET',
          url: req.url ?? '/',
          httpVersion: req.httpVersion,
          rawHeaders: req.rawHeaders,
          source: { address: req.socket.remoteAddress ?? '', port: req.socket.remotePort ?? 0 },
          destination: { address: req.socket.localAddress ?? '', port: req.socket.localPort ?? 0 },
          bodyBytes,
        },
        process.env,
        hostname(),
      );
      console.log(`${body.method} ${req.url ?? '/'} from ${body.source.address}:${body.source.port}`);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(`${JSON.stringify(body)}\n`);
    });
  });
  server.listen(port, () => console.log(`echo-http listening on ${port}`));
  return server;
});

/** Graceful stop, as a pod's SIGTERM asks: stop accepting, let open requests finish, exit 0. */
function shutdown(signal: string): void {
  console.log(`echo-http got ${signal}, exiting`);
  for (const s of servers) {
    s.close();
    s.closeIdleConnections();
  }
  setTimeout(() => process.exit(0), 100).unref();
}
process.once('SIGTERM', () => shutdown('SIGTERM'));
process.once('SIGINT', () => shutdown('SIGINT'));
