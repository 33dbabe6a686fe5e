// How the ztunnel makes sockets: inside pods' network namespaces, through the native addon (DESIGN §2). Injected,
// so the proxy logic can also run against plain loopback sockets.
import net from 'node:net';
import {
  connectSocket,
  openListener,
  originalDestinationOf,
  type ConnectOptions,
  type Endpoint,
  type ListenerOptions,
} from '@ambit/native';

/** Packets of the ztunnel's own sockets carry this mark; the in-pod rules let them through (DESIGN §7). */
export const PROXY_MARK = 0x539;

export interface Sockets {
  /** A listening server whose socket lives in `o.netnsPath` (half-open connections allowed, no Nagle). */
  listen(o: ListenerOptions): net.Server;
  connect(o: ConnectOptions): Promise<net.Socket>;
  originalDestination(s: net.Socket): Endpoint;
}

export const nativeSockets: Sockets = {
  listen: (o) => net.createServer({ allowHalfOpen: true, noDelay: true }).listen({ fd: openListener(o) }),
  connect: (o) => connectSocket({ ...o, allowHalfOpen: true }),
  originalDestination: originalDestinationOf,
};
