// The ztunnel's own HTTP ports (DESIGN §5): 15000 admin (`/config_dump`: the records in force, as `ambit config
// dump` prints them), 15020 metrics (`/metrics`, Prometheus), 15021 health (`/healthz/ready`). Plain data in, the
// only I/O here is the listening sockets.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dumpRecords, type ProxyState } from '@ambit/config';

export interface AdminSources {
  state(): ProxyState;
  /** Pods handed over by the node agent, for the dump. */
  pods(): readonly unknown[];
  metrics(): Promise<string>;
  /** Why the ztunnel is not ready, or undefined when it is. */
  notReady(): string | undefined;
}

export interface AdminPorts {
  readonly admin: number;
  readonly metrics: number;
  readonly health: number;
}

export interface AdminServers {
  readonly ports: AdminPorts;
  close(): Promise<void>;
}

function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve((server.address() as AddressInfo).port));
  });
}

export async function startAdminServers(
  src: AdminSources,
  ports: AdminPorts,
  host = '0.0.0.0',
): Promise<AdminServers> {
  const admin = createServer((req, res) => {
    if (req.url?.split('?')[0] !== '/config_dump') return void res.writeHead(404).end('not found\n');
    const state = src.state();
    const body = { version: state.version, ...dumpRecords(state), pods: src.pods() };
    res.writeHead(200, { 'content-type': 'application/json' }).end(`${JSON.stringify(body, null, 2)}\n`);
  });
  const metrics = createServer((req, res) => {
    if (req.url?.split('?')[0] !== '/metrics') return void res.writeHead(404).end('not found\n');
    src.metrics().then(
      (text) => res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(text),
      (err: unknown) => res.writeHead(500).end(`${String(err)}\n`),
    );
  });
  const health = createServer((req, res) => {
    if (req.url?.split('?')[0] !== '/healthz/ready') return void res.writeHead(404).end('not found\n');
    const why = src.notReady();
    res.writeHead(why ? 503 : 200).end(why ? `${why}\n` : 'ready\n');
  });
  const servers = [admin, metrics, health];
  const bound = {
    admin: await listen(admin, ports.admin, host),
    metrics: await listen(metrics, ports.metrics, host),
    health: await listen(health, ports.health, host),
  };
  return {
    ports: bound,
    close: async () => {
      await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
    },
  };
}
