import { describe, expect, it } from 'vitest';
import { state, workload } from '../testing/records.ts';
import { startAdminServers } from './servers.ts';

describe('ztunnel admin servers', () => {
  it('serves the config dump, metrics and readiness', async () => {
    let notReady: string | undefined = 'waiting for the first config';
    const s = await startAdminServers(
      {
        state: () => state({ workloads: [workload('sleep', { addresses: ['10.244.1.5'] })] }),
        pods: () => [{ uid: 'uid-sleep' }],
        metrics: () => Promise.resolve('istio_tcp_connections_opened_total 1\n'),
        notReady: () => notReady,
      },
      { admin: 0, metrics: 0, health: 0 },
      '127.0.0.1',
    );
    try {
      const url = (port: number, path: string) => `http://127.0.0.1:${port}${path}`;
      const dump = (await (await fetch(url(s.ports.admin, '/config_dump'))).json()) as {
        workloads: { name: string }[];
        pods: unknown[];
      };
      expect(dump.workloads.map((w) => w.name)).toEqual(['sleep']);
      expect(dump.pods).toEqual([{ uid: 'uid-sleep' }]);
      expect(await (await fetch(url(s.ports.metrics, '/metrics'))).text()).toContain(
        'istio_tcp_connections_opened_total',
      );
      const before = await fetch(url(s.ports.health, '/healthz/ready'));
      expect([before.status, await before.text()]).toEqual([503, 'waiting for the first config\n']);
      notReady = undefined;
      expect((await fetch(url(s.ports.health, '/healthz/ready'))).status).toBe(200);
      expect((await fetch(url(s.ports.admin, '/nope'))).status).toBe(404);
    } finally {
      await s.close();
    }
  });
});
