import { describe, expect, it } from 'vitest';
import { buildIndex } from '../state/index-state.ts';
import { policy, service, state, workload } from '../testing/records.ts';
import { decideInbound, describeDecision, forwardedSource, peerOf } from './inbound.ts';

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

describe('forwardedSource', () => {
  const WAYPOINT = 'spiffe://cluster.local/ns/demo/sa/waypoint';
  const BAGGAGE =
    'k8s.source.principal=spiffe://cluster.local/ns/demo/sa/sleep,k8s.source.namespace=demo,k8s.source.workload=sleep';
  const svc = service('notsleep', {
    namespace: 'demo',
    waypoint: { namespace: 'demo', name: 'waypoint' },
    endpoints: [{ workloadUid: notsleep.uid, ports: { 8080: 8080 }, ready: true }],
  });
  const idx = buildIndex(state({ workloads: [notsleep], services: [svc] }));
  const from = (peerIdentity: string, baggage: string | undefined) =>
    forwardedSource(idx, {
      peerIdentity,
      trustDomain: 'cluster.local',
      ...(baggage !== undefined ? { baggage } : {}),
    });

  it('takes the caller a known waypoint forwards', () => {
    expect(from(WAYPOINT, BAGGAGE)).toEqual({
      identity: 'spiffe://cluster.local/ns/demo/sa/sleep',
      namespace: 'demo',
      workload: 'sleep',
    });
    expect(
      from(WAYPOINT, 'k8s.source.principal=spiffe://cluster.local/ns/other/sa/curl;p=1, service.name=curl'),
    ).toEqual({
      identity: 'spiffe://cluster.local/ns/other/sa/curl',
      namespace: 'other',
      canonicalService: 'curl',
    });
  });

  it('ignores the same baggage from any other peer', () => {
    expect(from(SLEEP, BAGGAGE)).toBeUndefined();
    expect(from(OTHER, BAGGAGE)).toBeUndefined();
    // A waypoint that no record names is not trusted either, even under the waypoint naming.
    expect(from('spiffe://cluster.local/ns/demo/sa/other-waypoint', BAGGAGE)).toBeUndefined();
  });

  it.each([
    ['no baggage', undefined],
    ['no principal', 'k8s.source.namespace=demo,k8s.source.workload=sleep'],
    ['bad percent-encoding', `${BAGGAGE},x=%zz`],
    ['an overlong header', `${BAGGAGE},pad=${'x'.repeat(8192)}`],
    ['a principal that is not a SPIFFE id', 'k8s.source.principal=cluster.local/ns/demo/sa/sleep'],
    ['a principal of another trust domain', 'k8s.source.principal=spiffe://evil.example/ns/demo/sa/sleep'],
    ['a principal that is no workload identity', 'k8s.source.principal=spiffe://cluster.local/sleep'],
    ['a principal with a path trick', 'k8s.source.principal=spiffe://cluster.local/ns/demo/sa/sleep/../x'],
    [
      'an encoded newline in the principal',
      'k8s.source.principal=spiffe://cluster.local/ns/demo/sa/sle%0Aep',
    ],
    [
      'a namespace that contradicts the principal',
      'k8s.source.principal=spiffe://cluster.local/ns/demo/sa/sleep,k8s.source.namespace=kube-system',
    ],
    [
      'a workload name that is no Kubernetes name',
      'k8s.source.principal=spiffe://cluster.local/ns/demo/sa/sleep,k8s.source.workload=Sleep%22%7D',
    ],
    ['a duplicate principal', `${BAGGAGE},k8s.source.principal=spiffe://cluster.local/ns/demo/sa/other`],
  ])('ignores, from the waypoint, %s', (_why, baggage) => {
    expect(from(WAYPOINT, baggage)).toBeUndefined();
  });

  it('never changes the authorization decision, which sees the peer', () => {
    const onlyWaypoint = policy('demo/only-waypoint', 'Allow', [
      { principals: ['cluster.local/ns/demo/sa/waypoint'] },
    ]);
    const policed = buildIndex(state({ workloads: [notsleep], services: [svc], policies: [onlyWaypoint] }));
    // InboundFacts has no field for a forwarded caller: the verdict is the peer's, with or without baggage.
    expect(decideInbound(policed, 'node-a', facts(WAYPOINT)).kind).toBe('allow');
    expect(decideInbound(policed, 'node-a', facts(SLEEP)).kind).toBe('deny');
  });
});
