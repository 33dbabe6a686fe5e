import type { V1Service } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { ingressMatches, ingressPatch, lbServiceOf } from './lb-status.ts';

const svc = (over: { ingress?: { ip?: string; ipMode?: string; hostname?: string }[] } = {}): V1Service => ({
  metadata: { name: 'web', namespace: 'shop', creationTimestamp: new Date('2026-01-02T03:04:05Z') },
  spec: { type: 'LoadBalancer', loadBalancerIP: '' },
  status: { loadBalancer: { ingress: over.ingress } },
});

describe('lbServiceOf', () => {
  it('reads key, type, class, requested and current addresses', () => {
    expect(lbServiceOf(svc({ ingress: [{ ip: '172.30.0.200' }, { hostname: 'x' }] }))).toEqual({
      key: 'shop/web',
      type: 'LoadBalancer',
      loadBalancerClass: undefined,
      requestedIp: undefined,
      created: Date.parse('2026-01-02T03:04:05Z'),
      currentIps: ['172.30.0.200'],
    });
  });

  it('reads a creation time given as a string (watch events are raw JSON) the same as a Date', () => {
    const raw = svc();
    // Watch events are not deserialised by client-node: the timestamp is the wire's RFC 3339 string.
    (raw.metadata as { creationTimestamp: unknown }).creationTimestamp = '2026-01-02T03:04:05Z';
    expect(lbServiceOf(raw).created).toBe(lbServiceOf(svc()).created);
  });
});

describe('ingress status', () => {
  it('matches exactly one VIP entry with the address', () => {
    expect(ingressMatches(svc({ ingress: [{ ip: '172.30.0.200', ipMode: 'VIP' }] }), '172.30.0.200')).toBe(
      true,
    );
    expect(ingressMatches(svc({ ingress: [{ ip: '172.30.0.200' }] }), '172.30.0.200')).toBe(false);
    expect(ingressMatches(svc({ ingress: [{ ip: '172.30.0.201', ipMode: 'VIP' }] }), '172.30.0.200')).toBe(
      false,
    );
    expect(
      ingressMatches(
        svc({
          ingress: [
            { ip: '172.30.0.200', ipMode: 'VIP' },
            { ip: '172.30.0.201', ipMode: 'VIP' },
          ],
        }),
        '172.30.0.200',
      ),
    ).toBe(false);
    expect(ingressMatches(svc(), undefined)).toBe(true);
    expect(ingressMatches(svc({ ingress: [{ ip: '172.30.0.200', ipMode: 'VIP' }] }), undefined)).toBe(false);
  });

  it('patches the address in, or clears it with null', () => {
    expect(ingressPatch('172.30.0.200')).toEqual({
      status: { loadBalancer: { ingress: [{ ip: '172.30.0.200', ipMode: 'VIP' }] } },
    });
    expect(ingressPatch(undefined)).toEqual({ status: { loadBalancer: { ingress: null } } });
  });
});
