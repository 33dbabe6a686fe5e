import { describe, expect, it } from 'vitest';
import { buildIndex } from '../state/index-state.ts';
import { policy, state, workload } from '../testing/records.ts';
import { decideInbound, describeDecision, peerOf } from './inbound.ts';

const notsleep = workload('notsleep', { addresses: ['10.244.1.7'], namespace: 'demo' });
const SLEEP = 'spiffe://cluster.local/ns/demo/sa/sleep';
const OTHER = 'spiffe://cluster.local/ns/other/sa/curl';
const facts = (peerIdentity?: string, port = 8080) => ({
  sourceIp: '10.244.2.5',
  destinationIp: '10.244.1.7',
  destinationPort: port,
  ...(peerIdentity ? { peerIdentity } : {}),
});

describe('decideInbound', () => {
  it('allows only sa/sleep when an ALLOW names it', () => {
    const allow = policy('demo/only-sleep', 'Allow', [{ principals: ['cluster.local/ns/demo/sa/sleep'] }]);
    const idx = buildIndex(state({ workloads: [notsleep], policies: [allow] }));
    expect(decideInbound(idx, 'node-a', facts(SLEEP)).kind).toBe('allow');
    const denied = decideInbound(idx, 'node-a', facts(OTHER));
    expect(denied.kind).toBe('deny');
    expect(denied.kind === 'deny' && describeDecision(denied.decision)).toBe(
      'denied: no ALLOW policy matches',
    );
  });

  it('denies by namespace and by port, naming the policy', () => {
    const deny = policy('demo/no-other', 'Deny', [{ namespaces: ['other'] }]);
    const port = policy('demo/no-9090', 'Deny', [{ destinationPorts: [9090] }]);
    const idx = buildIndex(state({ workloads: [notsleep], policies: [deny, port] }));
    const byNs = decideInbound(idx, 'node-a', facts(OTHER));
    expect(byNs.kind === 'deny' && describeDecision(byNs.decision)).toBe(
      'denied by DENY policy demo/no-other',
    );
    expect(decideInbound(idx, 'node-a', facts(SLEEP, 9090)).kind).toBe('deny');
    expect(decideInbound(idx, 'node-a', facts(SLEEP, 8080)).kind).toBe('allow');
  });

  it('refuses plaintext under STRICT and lets it in under PERMISSIVE', () => {
    const strict = { ...notsleep, mtls: { mode: 'STRICT' as const, ports: {} } };
    expect(decideInbound(buildIndex(state({ workloads: [strict] })), 'node-a', facts()).kind).toBe('deny');
    expect(decideInbound(buildIndex(state({ workloads: [notsleep] })), 'node-a', facts()).kind).toBe('allow');
  });

  it('applies mesh-wide policies, and not another namespace’s', () => {
    const global = policy('istio-system/deny-curl', 'Deny', [{ principals: ['*/sa/curl'] }], 'Global');
    const elsewhere = policy('other/deny-all', 'Deny', [{}]);
    const idx = buildIndex(state({ workloads: [notsleep], policies: [global, elsewhere] }));
    expect(decideInbound(idx, 'node-a', facts(OTHER)).kind).toBe('deny');
    expect(decideInbound(idx, 'node-a', facts(SLEEP)).kind).toBe('allow');
  });

  it('knows nothing of pods on other nodes', () => {
    const idx = buildIndex(state({ workloads: [{ ...notsleep, node: 'node-b' }] }));
    expect(decideInbound(idx, 'node-a', facts(SLEEP)).kind).toBe('unknown-destination');
  });

  it('reads principal and namespace from a SPIFFE id only', () => {
    expect(peerOf(SLEEP)).toEqual({ principal: 'cluster.local/ns/demo/sa/sleep', namespace: 'demo' });
    expect(peerOf('cluster.local/ns/demo/sa/sleep')).toBeUndefined();
    expect(peerOf(undefined)).toBeUndefined();
  });
});
