// Test-only: loopback TCP servers and an HBONE server wired to dial the authority, as a ztunnel inbound would.
import { once } from 'node:events';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import type { ConnectDecision, Connection } from '../connection.ts';
import type { HboneError } from '../errors.ts';
import { HboneServer } from '../server.ts';
import type { SpliceResult } from '../splice.ts';
import type { ServerTls } from '../server.ts';

export async function listenLoopback(server: Server): Promise<string> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return `127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** A TCP server on 127.0.0.1 that keeps half-open sockets half-open, so tests see EOF as EOF. */
export async function startTcp(
  onSocket: (socket: Socket) => void,
): Promise<{ address: string; sockets: Socket[]; close(): Promise<void> }> {
  const sockets: Socket[] = [];
  const server = createServer({ allowHalfOpen: true }, (socket) => {
    sockets.push(socket);
    socket.on('error', () => undefined);
    onSocket(socket);
  });
  const address = await listenLoopback(server);
  return {
    address,
    sockets,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** Echoes every byte and the EOF. */
export function echo(socket: Socket): void {
  socket.pipe(socket);
}

/** Dials `authority` with half-close kept (what a ztunnel inbound does); rejects on a dial error. */
export async function dialAuthority(authority: string): Promise<Socket> {
  const [host, port] = [
    authority.slice(0, authority.lastIndexOf(':')),
    authority.slice(authority.lastIndexOf(':') + 1),
  ];
  const socket = connect({ host, port: Number(port), allowHalfOpen: true, noDelay: true });
  try {
    await once(socket, 'connect');
  } catch (err) {
    socket.destroy();
    throw err;
  }
  return socket;
}

export interface HboneHarness {
  /** `ip:port` of the HBONE listener. */
  readonly proxy: string;
  readonly server: HboneServer;
  readonly listener: Server;
  /** Every CONNECT the decision saw. */
  readonly connections: Connection[];
  /** Upstream sockets handed to the server. */
  readonly upstreams: Socket[];
  readonly closed: { conn: Connection; result: SpliceResult }[];
  readonly errors: HboneError[];
  /** TCP connections accepted on the HBONE listener (one per TLS session). */
  accepted(): number;
  /** Replaces the decision; the default dials the authority and answers 503 if that fails. */
  decide: (conn: Connection) => Promise<ConnectDecision>;
  close(): Promise<void>;
}

export async function startHbone(tls: ServerTls): Promise<HboneHarness> {
  let accepted = 0;
  const connections: Connection[] = [];
  const upstreams: Socket[] = [];
  const closed: { conn: Connection; result: SpliceResult }[] = [];
  const errors: HboneError[] = [];
  const dialOr503 = async (conn: Connection): Promise<ConnectDecision> => {
    try {
      const upstream = await dialAuthority(conn.authority);
      upstreams.push(upstream);
      return { status: 200, upstream };
    } catch {
      return { status: 503 };
    }
  };
  const server = new HboneServer({
    onConnect: (conn) => {
      connections.push(conn);
      return harness.decide(conn);
    },
    onClose: (conn, result) => closed.push({ conn, result }),
    onError: (err) => errors.push(err),
  });
  const listener = createServer();
  listener.on('connection', () => (accepted += 1));
  server.serve(listener, tls);
  const proxy = await listenLoopback(listener);
  const harness: HboneHarness = {
    proxy,
    server,
    listener,
    connections,
    upstreams,
    closed,
    errors,
    accepted: () => accepted,
    decide: dialOr503,
    close: async () => {
      await server.close();
      await new Promise((resolve) => listener.close(resolve));
    },
  };
  return harness;
}

/** Polls `check` until it holds or `ms` pass (DESIGN §8: deadlines polled, never sleeps). */
export async function eventually(check: () => boolean, ms = 5_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Reads a stream to its end. */
export async function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
