import * as pb from '@ambit/codegen/proto';
import { describe, expect, it } from 'vitest';
import { decideSubscriber } from './subscriber-policy.ts';

const facts = { systemNamespace: 'ambit-system', ztunnelServiceAccount: 'ztunnel' };
const ztunnel = { namespace: 'ambit-system', serviceAccount: 'ztunnel', node: 'node-a' };
const hello = (kind: pb.ProxyKind, node = '', waypoint = '') => ({
  kind,
  node,
  waypoint,
  gateway: '',
  protocolVersion: 1,
});
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
});
