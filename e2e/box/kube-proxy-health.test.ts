import { describe, expect, it } from 'vitest';
import { kubeProxyState } from './kube-proxy-health.ts';

// Bodies as kube-proxy v1.34.4 answers them (seen in a node netns).
const synced = {
  IPv4: { lastUpdated: '2026-11-23T15:22:27.824Z', healthy: true },
  IPv6: { lastUpdated: '2026-11-23T15:22:27.892Z', healthy: true },
};

describe('kubeProxyState', () => {
  it('is ready once synced and its Node is seen', () => {
    const body = JSON.stringify({ healthy: true, nodeEligible: true, status: synced });
    expect(kubeProxyState(200, body)).toBe('ready');
  });

  it('says no-node while the Node is missing (503 although synced)', () => {
    const body = JSON.stringify({ healthy: true, nodeEligible: false, status: synced });
    expect(kubeProxyState(503, body)).toBe('no-node');
  });

  it('says not-synced before the first sync, even on a 200', () => {
    expect(kubeProxyState(200, JSON.stringify({ healthy: true, nodeEligible: true }))).toBe('not-synced');
  });

  it('says unhealthy when a sync is overdue or the body is not JSON', () => {
    const late = JSON.stringify({ healthy: false, nodeEligible: true, status: synced });
    expect(kubeProxyState(503, late)).toBe('unhealthy');
    expect(kubeProxyState(502, 'bad gateway')).toBe('unhealthy');
  });
});
