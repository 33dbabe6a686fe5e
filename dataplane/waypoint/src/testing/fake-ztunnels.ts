// Test-only: "destination ztunnels" on loopback with real TLS from the test CA: one HboneServer with a listener per
// endpoint IP (127.0.0.x), all on one port (a proxy dials `<pod ip>:<hbone port>`), each presenting that endpoint
// workload's certificate and splicing every CONNECT into the `ip:port` it names. Never imported by production code.
import { once } from 'node:events';
import { connect as netConnect, createServer, type AddressInfo, type Server } from 'node:net';
import { HboneServer, type Connection } from '@ambit/hbone';
import type { TestCa } from './local-ca.ts';

export const spiffe = (sa: string, ns = 'default') => `spiffe://cluster.local/ns/${ns}/sa/${sa}`;

export async function listenOn(server: Server, host: string, port = 0): Promise<number> {
  server.listen(port, host);
  await Promise.race([
    once(server, 'listening'),
    once(server, 'error').then(([e]) => Promise.reject(e as Error)),
  ]);
  return (server.address() as AddressInfo).port;
}

/** A port free on 127.0.0.1 right now (for listeners whose port must be known before they bind). */
export async function freePort(): Promise<number> {
  const probe = createServer();
  const port = await listenOn(probe, '127.0.0.1');
  await new Promise((r) => probe.close(r));
  return port;
}

export interface FakeZtunnels {
  /** The HBONE port every listener uses. */
  readonly port: number;
  /** Every CONNECT they saw, in order. */
  readonly connects: Connection[];
  /** Starts a listener on `ip` presenting the certificate of service account `sa`. */
  endpoint(ip: string, sa: string, namespace?: string): Promise<void>;
  /**
   * Splices CONNECTs for `authority` into `to` instead: a Service VIP no socket serves, where a listener standing
   * for a waypoint passes the stream on to a backend (the waypoint's own routing is not what such tests check).
   */
  redirect(authority: string, to: string): void;
  close(): Promise<void>;
}

export async function startFakeZtunnels(ca: TestCa): Promise<FakeZtunnels> {
  const connects: Connection[] = [];
  const redirects = new Map<string, string>();
  const listeners: Server[] = [];
  const server = new HboneServer({
    onConnect: async (conn) => {
      connects.push(conn);
      const target = redirects.get(conn.authority) ?? conn.authority;
      const colon = target.lastIndexOf(':');
      const socket = netConnect({
        host: target.slice(0, colon),
        port: Number(target.slice(colon + 1)),
        allowHalfOpen: true,
        noDelay: true,
      });
      try {
        await once(socket, 'connect');
      } catch {
        socket.destroy();
        return { status: 503 };
      }
      return { status: 200, upstream: socket };
    },
  });
  const port = await freePort();
  return {
    port,
    connects,
    endpoint: async (ip, sa, namespace = 'default') => {
      const material = await ca.issue(spiffe(sa, namespace));
      const l = createServer({ allowHalfOpen: true });
      server.serve(l, material);
      await listenOn(l, ip, port);
      listeners.push(l);
    },
    redirect: (authority, to) => void redirects.set(authority, to),
    close: async () => {
      await server.close();
      for (const l of listeners) await new Promise((r) => l.close(() => r(undefined)));
    },
  };
}
