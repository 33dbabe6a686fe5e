// Test-only: a loopback port whose every connection is re-dialled from inside a pod's network namespace, for
// clients that want a host:port and cannot be handed a socket (a @grpc/grpc-js channel). The re-dialled socket
// carries no proxy mark, so the pod's rules capture it exactly as they would the app's own connection; the
// loopback leg is outside the mesh path and only moves bytes.
import { once } from 'node:events';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { connectSocket } from '@ambit/native';

export interface NetnsForwarder {
  /** The loopback port to dial (127.0.0.1). */
  readonly port: number;
  close(): Promise<void>;
}

/** Connections to `127.0.0.1:<port>` become connections from `netnsPath` to `host:port`. */
export async function netnsForwarder(netnsPath: string, host: string, port: number): Promise<NetnsForwarder> {
  const sockets = new Set<Socket>();
  const track = (s: Socket) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
    s.on('error', () => undefined);
  };
  const server = createServer({ allowHalfOpen: true, noDelay: true }, (local) => {
    track(local);
    connectSocket({ netnsPath, host, port, allowHalfOpen: true }).then(
      (remote) => {
        track(remote);
        remote.setNoDelay(true);
        if (local.destroyed) return void remote.destroy();
        local.pipe(remote);
        remote.pipe(local);
        local.once('close', () => remote.destroy());
        remote.once('close', () => local.destroy());
      },
      () => local.destroy(),
    );
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as AddressInfo).port,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}
