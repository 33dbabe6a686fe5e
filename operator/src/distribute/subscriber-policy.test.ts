import * as pb from '@ambit/codegen/proto';
import { describe, expect, it } from 'vitest';
import { decideSubscriber } from './subscriber-policy.ts';

const facts = { systemNamespace: 'ambit-system', ztunnelServiceAccount: 'ztunnel' };
const ztunnel = { namespace: 'ambit-system', serviceAccount: 'ztunnel', node: 'node-a' };
const hello = (kind: pb.ProxyKind, node = '', waypoint = '', gateway = '') => ({
  kind,
  node,
  waypoint,
  gateway,
  protocolVersion: 1,
});
const G = pb.ProxyKind.PROXY_KIND_GATEWAY;
const Z = pb.ProxyKind.PROXY_KIND_ZTUNNEL;
const W = pb.ProxyKind.PROXY_KIND_WAYPOINT;

describe('decideSubscriber', () => {
  it('admits a ztunnel as the node of its pod, and only that node', () => {
    expect(decideSubscriber(ztunnel, hello(Z, 'node-a'), facts)).toEqual({ kind: 'ztunnel', name: 'node-a' });
    expect(() => decideSubscriber(ztunnel, hello(Z, 'node-b'), facts)).toThrow(
      /may not subscribe as node "node-b"/,
    );
  });

  it('refuses unauthenticated callers and other accounts posing as ztunnels', () => {
    expect(() => decideSubscriber(undefined, hello(Z, 'node-a'), facts)).toThrow(
      expect.objectContaining({ code: 'ERR_UNAUTHENTICATED' }),
    );
    const sleep = { namespace: 'demo', serviceAccount: 'sleep', node: 'node-a' };
    expect(() => decideSubscriber(sleep, hello(Z, 'node-a'), facts)).toThrow(
      expect.objectContaining({ code: 'ERR_PERMISSION_DENIED' }),
    );
  });

  it('admits a waypoint only as itself', () => {
    const wp = { namespace: 'demo', serviceAccount: 'waypoint' };
    expect(decideSubscriber(wp, hello(W, '', 'demo/waypoint'), facts)).toEqual({
      kind: 'waypoint',
      name: 'demo/waypoint',
    });
    expect(() => decideSubscriber(wp, hello(W, '', 'other/waypoint'), facts)).toThrow(/may not subscribe/);
    expect(() => decideSubscriber(wp, hello(W, '', 'bad'), facts)).toThrow(
      expect.objectContaining({ code: 'ERR_BAD_HELLO' }),
    );
  });

  it('admits an ingress gateway only as the Gateway whose proxy account <name>-<class> is the caller', () => {
    const withGateways = {
      ...facts,
      ingressClass: (ns: string, name: string) =>
        ns === 'default' && name === 'bookinfo-gateway' ? 'istio' : undefined,
    };
    const proxy = { namespace: 'default', serviceAccount: 'bookinfo-gateway-istio' };
    expect(decideSubscriber(proxy, hello(G, '', '', 'default/bookinfo-gateway'), withGateways)).toEqual({
      kind: 'gateway',
      name: 'default/bookinfo-gateway',
    });
    // Another account in the namespace, the Gateway's own name as account, or a Gateway that is not ours.
    const sleep = { namespace: 'default', serviceAccount: 'sleep' };
    expect(() => decideSubscriber(sleep, hello(G, '', '', 'default/bookinfo-gateway'), withGateways)).toThrow(
      expect.objectContaining({ code: 'ERR_PERMISSION_DENIED' }),
    );
    const named = { namespace: 'default', serviceAccount: 'bookinfo-gateway' };
    expect(() => decideSubscriber(named, hello(G, '', '', 'default/bookinfo-gateway'), withGateways)).toThrow(
      /may not subscribe as gateway/,
    );
    expect(() => decideSubscriber(proxy, hello(G, '', '', 'default/other'), withGateways)).toThrow(
      /not an ingress Gateway/,
    );
    expect(() => decideSubscriber(proxy, hello(G, '', '', 'bookinfo-gateway'), withGateways)).toThrow(
      expect.objectContaining({ code: 'ERR_BAD_HELLO' }),
    );
    // Without Gateway facts, nobody subscribes as a gateway.
    expect(() => decideSubscriber(proxy, hello(G, '', '', 'default/bookinfo-gateway'), facts)).toThrow(
      /not an ingress Gateway/,
    );
  });
});
