// How TCP connections are made: injected, because the ztunnel dials from inside a pod's network namespace (through
// the native addon) and tests may count or fail dials.
import { connect, type Socket } from 'node:net';
import { once } from 'node:events';

export interface DialOptions {
  readonly host: string;
  readonly port: number;
  /** Bind to this local address (the pod IP when the ztunnel dials on a pod's behalf). */
  readonly sourceIp?: string;
}

/** Resolves with a connected socket, or rejects with the dial error. */
export type SocketFactory = (opts: DialOptions) => Promise<Socket>;

/** `net.connect` in the current network namespace. */
export const defaultSocketFactory: SocketFactory = async (opts) => {
  const socket = connect({
    host: opts.host,
    port: opts.port,
    ...(opts.sourceIp !== undefined ? { localAddress: opts.sourceIp } : {}),
    noDelay: true,
  });
  try {
    await once(socket, 'connect');
  } catch (err) {
    socket.destroy();
    throw err;
  }
  return socket;
};
