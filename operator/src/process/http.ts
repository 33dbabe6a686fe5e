// The operator's own HTTP endpoints: liveness (/healthz), readiness (/readyz: caches synced) and a few Prometheus
// gauges and counters (/metrics) — leadership and the writes the reconcilers issued.
import { createServer, type Server } from 'node:http';

export interface OperatorProbe {
  ready(): boolean;
  leader(): boolean;
  writes(): { applied: number; deleted: number };
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
    '',
  ].join('\n');
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
