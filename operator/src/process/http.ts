// The operator's own HTTP endpoints: liveness (/healthz), readiness (/readyz: caches synced) and a few Prometheus
// gauges and counters (/metrics) — leadership and the writes the reconcilers issued.
import { createServer, type Server } from 'node:http';
import type { ConfigServerStats } from '../distribute/config-server.ts';

export interface OperatorProbe {
  ready(): boolean;
  leader(): boolean;
  writes(): { applied: number; deleted: number };
  /** The config channel's counters, once the control plane serves. */
  config?(): ConfigServerStats | undefined;
}

export function metricsText(p: OperatorProbe): string {
  const w = p.writes();
  return [
    '# HELP ambit_operator_leader Whether this replica holds the leader lease.',
    '# TYPE ambit_operator_leader gauge',
    `ambit_operator_leader ${p.leader() ? 1 : 0}`,
    '# HELP ambit_operator_writes_total Objects applied or deleted by the reconcilers.',
    '# TYPE ambit_operator_writes_total counter',
    `ambit_operator_writes_total{op="apply"} ${w.applied}`,
    `ambit_operator_writes_total{op="delete"} ${w.deleted}`,
    ...configLines(p.config?.()),
    '',
  ].join('\n');
}

function configLines(c: ConfigServerStats | undefined): string[] {
  if (!c) return [];
  return [
    '# HELP ambit_config_subscribers Proxies subscribed to the config stream of this replica.',
    '# TYPE ambit_config_subscribers gauge',
    `ambit_config_subscribers ${c.subscribers}`,
    '# HELP ambit_config_pushes_total Config pushes sent: full snapshots and deltas.',
    '# TYPE ambit_config_pushes_total counter',
    `ambit_config_pushes_total{type="full"} ${c.pushes.full}`,
    `ambit_config_pushes_total{type="delta"} ${c.pushes.delta}`,
    '# HELP ambit_config_acks_total Pushes a proxy accepted.',
    '# TYPE ambit_config_acks_total counter',
    `ambit_config_acks_total ${c.acks}`,
    '# HELP ambit_config_nacks_total Pushes a proxy rejected (in part); the Mesh status lists the latest.',
    '# TYPE ambit_config_nacks_total counter',
    `ambit_config_nacks_total ${c.nacks}`,
  ];
}

export function startHttp(port: number, probe: OperatorProbe): Promise<Server> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/healthz') return void res.writeHead(200).end('ok\n');
    if (path === '/readyz') {
      const ok = probe.ready();
      return void res.writeHead(ok ? 200 : 503).end(ok ? 'ok\n' : 'caches not synced\n');
    }
    if (path === '/metrics') {
      return void res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(metricsText(probe));
    }
    res.writeHead(404).end('not found\n');
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, () => resolve(server));
  });
}
