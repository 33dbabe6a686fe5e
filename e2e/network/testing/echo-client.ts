// Test helper run inside a node netns: sends a payload to an echo server and checks that it comes back unchanged.
// Usage: node echo-client.ts <ip> <port> <bytes>. Prints one JSON line `{ sent, received, same, local }` and
// exits 0 if the echo matched; gives up after 10 s.
import { connect } from 'node:net';
import { randomBytes } from 'node:crypto';

const [host = '', portText = '', bytesText = '65536'] = process.argv.slice(2);
const payload = randomBytes(Number(bytesText));
const chunks: Buffer[] = [];

const socket = connect({ host, port: Number(portText) }, () => socket.end(payload));
socket.on('data', (chunk: Buffer) => chunks.push(chunk));
socket.on('end', () => {
  const received = Buffer.concat(chunks);
  const same = received.equals(payload);
  const local = socket.localAddress ?? '?';
  process.stdout.write(
    `${JSON.stringify({ sent: payload.length, received: received.length, same, local })}\n`,
  );
  process.exit(same ? 0 : 1);
});
socket.on('error', (err) => {
  process.stderr.write(`${err.message}\n`);
  process.exit(2);
});
setTimeout(() => {
  process.stderr.write('timed out\n');
  process.exit(3);
}, 10_000).unref();
