import { describe, expect, it } from 'vitest';
import { workload } from '../testing/records.ts';
import { connectionLabels, ZtunnelMetrics } from './metrics.ts';

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

  it('labels a forwarded caller as the source instead of the peer, and what was not forwarded as unknown', () => {
    const labels = connectionLabels({
      reporter: 'destination',
      source: workload('waypoint', { namespace: 'demo' }),
      forwardedSource: {
        identity: 'spiffe://cluster.local/ns/demo/sa/sleep',
        namespace: 'demo',
        workload: 'sleep',
      },
      destination: workload('httpbin', { namespace: 'demo' }),
      mutualTls: true,
    });
    expect(labels).toMatchObject({
      source_workload: 'sleep',
      source_canonical_service: 'unknown',
      source_workload_namespace: 'demo',
      source_principal: 'spiffe://cluster.local/ns/demo/sa/sleep',
      destination_workload: 'httpbin',
      destination_principal: 'spiffe://cluster.local/ns/demo/sa/httpbin',
    });
    expect(Object.values(labels)).not.toContain('waypoint');
  });

  it('counts the request direction as received and the response as sent, as upstream does', async () => {
    const m = new ZtunnelMetrics();
    m.open({ reporter: 'source', mutualTls: true }).end({ toTarget: 7, fromTarget: 300 });
    const text = await m.text();
    expect(text).toMatch(/istio_tcp_received_bytes_total\{reporter="source".*\} 7$/m);
    expect(text).toMatch(/istio_tcp_sent_bytes_total\{reporter="source".*\} 300$/m);
    expect(text).toMatch(/istio_tcp_connections_closed_total\{reporter="source".*\} 1$/m);
  });

  it('labels plaintext and unknown peers as unknown', async () => {
    const m = new ZtunnelMetrics();
    m.open({ reporter: 'source', mutualTls: false }).close();
    expect(await m.text()).toContain('connection_security_policy="unknown"');
  });
});
