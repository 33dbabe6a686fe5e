import type { Gateway } from '@ambit/codegen/crds';
import { describe, expect, it } from 'vitest';
import {
  attachToGateway,
  hostnamesIntersect,
  servedHosts,
  type IngressGateways,
} from './ingress-attachment.ts';

type Listener = Gateway['spec']['listeners'][number];

function gateways(
  listeners: Listener[],
  labels: Record<string, Record<string, string>> = {},
): IngressGateways {
  const gw: Gateway = {
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'Gateway',
    metadata: { name: 'gw', namespace: 'infra' },
    spec: { gatewayClassName: 'istio', listeners },
  };
  return {
    gateway: (ns, name) => (ns === 'infra' && name === 'gw' ? gw : undefined),
    namespaceLabels: (ns) => labels[ns],
  };
}
const route = (
  namespace: string,
  hostnames: string[] = [],
  kind: 'HTTPRoute' | 'GRPCRoute' = 'HTTPRoute',
) => ({
  kind,
  namespace,
  hostnames,
});
const parent = { name: 'gw', namespace: 'infra' };

describe('hostnamesIntersect', () => {
  it.each([
    ['a.example', 'a.example', true],
    ['A.example', 'a.EXAMPLE', true],
    ['*.example', 'a.example', true],
    ['*.example', 'x.a.example', true],
    ['a.example', '*.example', true],
    ['*.example', 'example', false],
    ['*.a.example', '*.example', true],
    ['a.example', 'b.example', false],
    ['*.example', '*.other', false],
  ])('%s ~ %s: %s', (a, b, want) => {
    expect(hostnamesIntersect(a, b)).toBe(want);
  });
});

describe('attachToGateway', () => {
  it('attaches to every listener by default when namespaces and hostnames allow', () => {
    const g = gateways([
      { name: 'http', port: 80, protocol: 'HTTP', allowedRoutes: { namespaces: { from: 'All' } } },
      { name: 'https', port: 443, protocol: 'HTTPS', allowedRoutes: { namespaces: { from: 'All' } } },
    ]);
    expect(attachToGateway(parent, route('apps'), g)).toEqual({
      kind: 'attached',
      gateway: 'infra/gw',
      listeners: ['http', 'https'],
      serving: [{ port: 80 }, { port: 443 }],
    });
  });

  it('picks listeners by sectionName and port, and names the one that does not exist', () => {
    const g = gateways([
      { name: 'http', port: 80, protocol: 'HTTP' },
      { name: 'alt', port: 8080, protocol: 'HTTP' },
    ]);
    expect(attachToGateway({ ...parent, sectionName: 'alt' }, route('infra'), g)).toMatchObject({
      listeners: ['alt'],
    });
    expect(attachToGateway({ ...parent, port: 80 }, route('infra'), g)).toMatchObject({
      listeners: ['http'],
    });
    expect(attachToGateway({ ...parent, sectionName: 'nope' }, route('infra'), g)).toMatchObject({
      kind: 'refused',
      reason: 'NoMatchingParent',
    });
    expect(attachToGateway({ ...parent, sectionName: 'http', port: 8080 }, route('infra'), g)).toMatchObject({
      kind: 'refused',
      reason: 'NoMatchingParent',
    });
  });

  it('admits routes from the Gateway namespace only by default (Same), from selected namespaces with Selector', () => {
    const same = gateways([{ name: 'http', port: 80, protocol: 'HTTP' }]);
    expect(attachToGateway(parent, route('infra'), same).kind).toBe('attached');
    expect(attachToGateway(parent, route('apps'), same)).toMatchObject({
      kind: 'refused',
      reason: 'NotAllowedByListeners',
    });
    const selector = gateways(
      [
        {
          name: 'http',
          port: 80,
          protocol: 'HTTP',
          allowedRoutes: { namespaces: { from: 'Selector', selector: { matchLabels: { shared: 'yes' } } } },
        },
      ],
      { apps: { shared: 'yes' } },
    );
    expect(attachToGateway(parent, route('apps'), selector).kind).toBe('attached');
    expect(attachToGateway(parent, route('other'), selector).kind).toBe('refused');
  });

  it('admits only the listed route kinds, and never to a listener of a protocol it does not serve', () => {
    const g = gateways([
      { name: 'http', port: 80, protocol: 'HTTP', allowedRoutes: { kinds: [{ kind: 'GRPCRoute' }] } },
      { name: 'tcp', port: 9000, protocol: 'TCP' },
    ]);
    expect(attachToGateway(parent, route('infra', [], 'GRPCRoute'), g)).toMatchObject({
      listeners: ['http'],
    });
    expect(attachToGateway(parent, route('infra'), g)).toMatchObject({ reason: 'NotAllowedByListeners' });
  });

  it('needs a route hostname that meets the listener hostname', () => {
    const g = gateways([
      { name: 'a', port: 80, protocol: 'HTTP', hostname: '*.example.com' },
      { name: 'b', port: 8080, protocol: 'HTTP', hostname: 'b.example.org' },
    ]);
    expect(attachToGateway(parent, route('infra', ['shop.example.com']), g)).toMatchObject({
      listeners: ['a'],
    });
    expect(attachToGateway(parent, route('infra'), g)).toMatchObject({ listeners: ['a', 'b'] });
    expect(attachToGateway(parent, route('infra', ['c.example.net']), g)).toMatchObject({
      kind: 'refused',
      reason: 'NoMatchingListenerHostname',
    });
  });

  it('leaves Gateways that are not ours alone', () => {
    const g = gateways([{ name: 'http', port: 80, protocol: 'HTTP' }]);
    expect(attachToGateway({ name: 'elsewhere', namespace: 'infra' }, route('infra'), g)).toEqual({
      kind: 'not-ours',
    });
  });
});

describe('servedHosts', () => {
  it('is any host without hostnames on either side, else the narrower name of each intersecting pair', () => {
    expect(servedHosts([], undefined)).toBeUndefined();
    expect(servedHosts([], '*.example.com')).toEqual(['*.example.com']);
    expect(servedHosts(['a.example.com', 'B.example.org'], undefined)).toEqual([
      'a.example.com',
      'b.example.org',
    ]);
    expect(servedHosts(['a.example.com', 'b.example.org'], '*.example.com')).toEqual(['a.example.com']);
    expect(servedHosts(['*.example.com'], 'shop.example.com')).toEqual(['shop.example.com']);
    expect(servedHosts(['*.shop.example.com'], '*.example.com')).toEqual(['*.shop.example.com']);
  });
});
