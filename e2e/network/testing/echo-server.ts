// Test helper run inside a node netns: a TCP server that echoes each connection's bytes back and reports its peers.
// Usage: node echo-server.ts <ip> <port> [lifetime-ms]. Prints `listening` once bound and `peer <ip>` per
// connection on stdout; exits by itself after the lifetime (default 30 s) so a failed test leaves nothing running.
import { createServer } from 'node:net';

const [host = '', portText = '', lifetimeText = '30000'] = process.argv.slice(2);

const server = createServer((socket) => {
  process.stdout.write(`peer ${socket.remoteAddress ?? '?'}\n`);
  socket.pipe(socket);
  socket.on('error', () => socket.destroy());
});
server.listen(Number(portText), host, () => process.stdout.write('listening\n'));
setTimeout(() => process.exit(0), Number(lifetimeText)).unref();
process.on('SIGTERM', () => process.exit(0));
