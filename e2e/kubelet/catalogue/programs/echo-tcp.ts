// The `ambit/echo-tcp` image: writes every byte it receives back to the sender (after an optional prefix).
import { createServer } from 'node:net';
import { parseEchoArgs, plainAddress } from './echo-lib.ts';

const DEFAULT_PORT = 9000;

const args = parseEchoArgs(process.argv.slice(2), process.env, DEFAULT_PORT);
const prefix = Buffer.from(args.prefix, 'utf8');
const servers = args.ports.map((port) => {
  const server = createServer((socket) => {
    socket.setNoDelay(true);
    console.log(`connection from ${plainAddress(socket.remoteAddress ?? '')}:${socket.remotePort ?? 0}`);
    socket.on('data', (b: Buffer) => socket.write(prefix.length === 0 ? b : Buffer.concat([prefix, b])));
    socket.on('end', () => socket.end());
    socket.on('error', () => socket.destroy());
  });
  server.listen(port, () => console.log(`echo-tcp listening on ${port}`));
  return server;
});

function shutdown(signal: string): void {
  console.log(`echo-tcp got ${signal}, exiting`);
  for (const s of servers) s.close();
  setTimeout(() => process.exit(0), 100).unref();
}
process.once('SIGTERM', () => shutdown('SIGTERM'));
process.once('SIGINT', () => shutdown('SIGINT'));
