import { describe, expect, it } from 'vitest';
import { workload } from '../testing/records.ts';
import { ZtunnelMetrics } from './metrics.ts';

describe('ZtunnelMetrics', () => {
  it("counts a connection under Istio's names and labels", async () => {
    const m = new ZtunnelMetrics();
    const c = m.open({
      reporter: 'destination',
      source: workload('sleep', { namespace: 'demo' }),
      destination: workload('httpbin', { namespace: 'demo' }),
      destinationService: 'httpbin.demo.svc.cluster.local',
      mutualTls: true,
    });
    c.sent(100);
    c.received(40);
    c.close();
    c.close();
    const text = await m.text();
    const line = (name: string) => text.split('\n').find((l) => l.startsWith(`${name}{`)) ?? '';
    expect(line('istio_tcp_connections_opened_total')).toContain('connection_security_policy="mutual_tls"');
    expect(line('istio_tcp_connections_opened_total')).toContain(
      'source_principal="spiffe://cluster.local/ns/demo/sa/sleep"',
    );
    expect(line('istio_tcp_sent_bytes_total')).toMatch(/ 100$/);
    expect(line('istio_tcp_received_bytes_total')).toMatch(/ 40$/);
    expect(line('istio_tcp_connections_closed_total')).toMatch(/ 1$/);
  });

  it('labels plaintext and unknown peers as unknown', async () => {
    const m = new ZtunnelMetrics();
    m.open({ reporter: 'source', mutualTls: false }).close();
    expect(await m.text()).toContain('connection_security_policy="unknown"');
  });
});
