import { describe, expect, it } from 'vitest';
import { decideCertificateRequest, type RequestPolicyFacts } from './request-policy.ts';

const facts: RequestPolicyFacts = {
  trustDomain: 'cluster.local',
  systemNamespace: 'ambit-system',
  ztunnelServiceAccount: 'ztunnel',
  identitiesOnNode: (node) =>
    node === 'node-a'
      ? [{ namespace: 'default', serviceAccount: 'sleep' }]
      : [{ namespace: 'default', serviceAccount: 'productpage' }],
};
const id = (namespace: string, serviceAccount: string, trustDomain = 'cluster.local') => ({
  trustDomain,
  namespace,
  serviceAccount,
});
const ztunnelA = { namespace: 'ambit-system', serviceAccount: 'ztunnel', node: 'node-a' };

describe('decideCertificateRequest', () => {
  it.each<[string, Parameters<typeof decideCertificateRequest>[0], ReturnType<typeof id>, boolean, string]>([
    ['a ztunnel for a pod on its node', ztunnelA, id('default', 'sleep'), true, 'ztunnel-for-local-pod'],
    [
      'a ztunnel for a pod on another node',
      ztunnelA,
      id('default', 'productpage'),
      false,
      'no pod with identity default/productpage runs on node node-a',
    ],
    [
      'a ztunnel with an unbound token',
      { ...ztunnelA, node: undefined },
      id('default', 'sleep'),
      false,
      'not bound to a pod',
    ],
    [
      'a waypoint for its own identity',
      { namespace: 'default', serviceAccount: 'waypoint' },
      id('default', 'waypoint'),
      true,
      'own-identity',
    ],
    [
      'a waypoint for another identity',
      { namespace: 'default', serviceAccount: 'waypoint' },
      id('default', 'sleep'),
      false,
      'default/waypoint may only obtain its own identity, not default/sleep',
    ],
    [
      'a ztunnel of the wrong namespace',
      { ...ztunnelA, namespace: 'default' },
      id('default', 'sleep'),
      false,
      'may only obtain its own identity',
    ],
    [
      'another trust domain',
      ztunnelA,
      id('default', 'sleep', 'evil.example'),
      false,
      'trust domain evil.example',
    ],
    ['nobody', undefined, id('default', 'sleep'), false, 'unauthenticated'],
  ])('%s', (_n, caller, requested, allowed, detail) => {
    const d = decideCertificateRequest(caller, requested, facts);
    expect(d.allowed).toBe(allowed);
    expect(d.allowed ? d.via : d.message).toContain(detail);
  });
});
