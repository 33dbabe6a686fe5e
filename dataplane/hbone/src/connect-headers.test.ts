// The CONNECT request as data: addresses, `forwarded`, and what a server accepts.
import { describe, expect, it } from 'vitest';
import {
  connectRequestHeaders,
  formatForwardedFor,
  parseAddress,
  parseForwardedFor,
  parseInboundRequest,
} from './connect-headers.ts';
import { poolKey } from './pool-key.ts';

describe('parseAddress', () => {
  it.each([
    ['10.0.0.1:15008', { host: '10.0.0.1', port: 15008 }],
    ['[fd00::1]:80', { host: 'fd00::1', port: 80 }],
    ['reviews:9080', undefined],
    ['10.0.0.1', undefined],
    ['10.0.0.1:0', undefined],
    ['10.0.0.1:65536', undefined],
    ['999.0.0.1:80', undefined],
    ['fd00::1:80', undefined],
  ])('%s', (text, parsed) => {
    expect(parseAddress(text)).toEqual(parsed);
  });
});

describe('forwarded', () => {
  it('formats and reads back IPv4 and IPv6 sources', () => {
    expect(formatForwardedFor('10.244.1.7')).toBe('for=10.244.1.7');
    expect(formatForwardedFor('fd00::7')).toBe('for="[fd00::7]"');
    expect(parseForwardedFor('for=10.244.1.7')).toBe('10.244.1.7');
    expect(parseForwardedFor('for="[fd00::7]";proto=https, for=1.2.3.4')).toBe('fd00::7');
    expect(parseForwardedFor('by=1.2.3.4')).toBeUndefined();
    expect(parseForwardedFor('for=unknown')).toBeUndefined();
  });
});

describe('connect request', () => {
  it('carries authority and the optional headers only when given', () => {
    expect(connectRequestHeaders('10.0.0.9:9080')).toEqual({
      ':method': 'CONNECT',
      ':authority': '10.0.0.9:9080',
    });
    expect(
      connectRequestHeaders('10.0.0.9:9080', { forwardedFor: '10.0.0.1', baggage: 'b', traceparent: 't' }),
    ).toEqual({
      ':method': 'CONNECT',
      ':authority': '10.0.0.9:9080',
      forwarded: 'for=10.0.0.1',
      baggage: 'b',
      traceparent: 't',
    });
  });

  it.each([
    [{ ':method': 'GET', ':path': '/' }, 'refuse'],
    [{ ':method': 'CONNECT', ':authority': 'reviews:9080' }, 'refuse'],
    [{ ':method': 'CONNECT', ':authority': '10.0.0.9:9080', ':protocol': 'websocket' }, 'refuse'],
    [{ ':method': 'CONNECT', ':authority': '10.0.0.9:9080' }, 'connect'],
  ])('%o is %s', (headers, kind) => {
    const req = parseInboundRequest(headers);
    expect(req.kind).toBe(kind);
    if (req.kind === 'refuse') expect(req.status).toBe(400);
  });

  it('passes forwarded, baggage and traceparent through', () => {
    expect(
      parseInboundRequest({
        ':method': 'CONNECT',
        ':authority': '10.0.0.9:9080',
        forwarded: 'for=10.0.0.1',
        baggage: 'k=v',
        traceparent: '00-1-2-01',
        'x-other': 'dropped',
      }),
    ).toEqual({
      kind: 'connect',
      authority: '10.0.0.9:9080',
      headers: { forwarded: 'for=10.0.0.1', baggage: 'k=v', traceparent: '00-1-2-01' },
    });
  });
});

describe('poolKey', () => {
  const base = {
    sourceIdentity: 'spiffe://cluster.local/ns/default/sa/sleep',
    destinationIdentities: ['spiffe://td/ns/a/sa/x', 'spiffe://td/ns/a/sa/y'],
    sourceIp: '10.244.1.7',
    proxy: '10.244.2.9:15008',
  };

  it('ignores the order of destination identities', () => {
    expect(
      poolKey({ ...base, destinationIdentities: ['spiffe://td/ns/a/sa/y', 'spiffe://td/ns/a/sa/x'] }),
    ).toBe(poolKey(base));
  });

  it.each([
    ['source identity', { sourceIdentity: 'spiffe://cluster.local/ns/default/sa/other' }],
    ['destination identities', { destinationIdentities: ['spiffe://td/ns/a/sa/x'] }],
    ['source IP', { sourceIp: '10.244.1.8' }],
    ['proxy', { proxy: '10.244.2.10:15008' }],
  ])('differs by %s', (_name, change) => {
    expect(poolKey({ ...base, ...change })).not.toBe(poolKey(base));
  });
});
