import { describe, expect, it } from 'vitest';
import { allocate, inPool, pool, poolPrefixes, type LbService } from './lb-pool.ts';

const lb = (key: string, created: number, extra: Partial<LbService> = {}): LbService => ({
  key,
  type: 'LoadBalancer',
  loadBalancerClass: undefined,
  requestedIp: undefined,
  created,
  currentIps: [],
  ...extra,
});

describe('allocate', () => {
  const p = pool();

  it('gives the lowest free addresses, oldest Service first, whatever the input order', () => {
    const out = allocate(p, [lb('default/b', 2), lb('default/a', 1), lb('x/c', 3)]);
    expect([...out]).toEqual([
      ['default/a', '172.30.0.200'],
      ['default/b', '172.30.0.201'],
      ['x/c', '172.30.0.202'],
    ]);
  });

  it('keeps the address a status already shows, and fills the gaps around it', () => {
    const out = allocate(p, [lb('d/old', 1, { currentIps: ['172.30.0.205'] }), lb('d/new', 2)]);
    expect(out.get('d/old')).toBe('172.30.0.205');
    expect(out.get('d/new')).toBe('172.30.0.200');
  });

  it('gives a contested address to the older Service and moves the younger one', () => {
    const out = allocate(p, [
      lb('d/young', 5, { currentIps: ['172.30.0.200'] }),
      lb('d/old', 1, { currentIps: ['172.30.0.200'] }),
    ]);
    expect(out.get('d/old')).toBe('172.30.0.200');
    expect(out.get('d/young')).toBe('172.30.0.201');
  });

  it('honours spec.loadBalancerIP inside the pool when free, and ignores it outside', () => {
    const out = allocate(p, [
      lb('d/asks', 1, { requestedIp: '172.30.0.240' }),
      lb('d/outside', 2, { requestedIp: '192.168.1.1' }),
      lb('d/same', 3, { requestedIp: '172.30.0.240' }),
    ]);
    expect(out.get('d/asks')).toBe('172.30.0.240');
    expect(out.get('d/outside')).toBe('172.30.0.200');
    expect(out.get('d/same')).toBe('172.30.0.201');
  });

  it('ignores addresses outside the pool in a status, and Services that are not ours', () => {
    const out = allocate(p, [
      lb('d/foreign-status', 1, { currentIps: ['10.0.0.1'] }),
      lb('d/other-class', 2, { loadBalancerClass: 'example.com/lb' }),
      lb('d/cluster-ip', 3, { type: 'ClusterIP', currentIps: ['172.30.0.200'] }),
    ]);
    expect([...out]).toEqual([['d/foreign-status', '172.30.0.200']]);
  });

  it('leaves Services pending when the pool is used up', () => {
    const tiny = pool('172.30.0.200', '172.30.0.201');
    const out = allocate(tiny, [lb('d/a', 1), lb('d/b', 2), lb('d/c', 3)]);
    expect([...out.values()]).toEqual(['172.30.0.200', '172.30.0.201', undefined]);
  });

  it('frees an address when its Service is gone (the next pass hands it out again)', () => {
    const first = allocate(p, [lb('d/a', 1), lb('d/b', 2)]);
    const held = (key: string) => ({ currentIps: [first.get(key) ?? ''] });
    const next = allocate(p, [lb('d/b', 2, held('d/b')), lb('d/c', 3)]);
    expect([...next]).toEqual([
      ['d/b', '172.30.0.201'],
      ['d/c', '172.30.0.200'],
    ]);
  });
});

describe('the pool', () => {
  it('is 172.30.0.200-250, covered exactly by six prefixes', () => {
    const p = pool();
    expect(inPool(p, '172.30.0.200')).toBe(true);
    expect(inPool(p, '172.30.0.250')).toBe(true);
    expect(inPool(p, '172.30.0.251')).toBe(false);
    expect(inPool(p, '172.30.0.199')).toBe(false);
    expect(poolPrefixes(p)).toEqual([
      '172.30.0.200/29',
      '172.30.0.208/28',
      '172.30.0.224/28',
      '172.30.0.240/29',
      '172.30.0.248/31',
      '172.30.0.250/32',
    ]);
  });

  it('covers aligned and single-address pools', () => {
    expect(poolPrefixes(pool('10.0.0.0', '10.0.0.255'))).toEqual(['10.0.0.0/24']);
    expect(poolPrefixes(pool('10.0.0.7', '10.0.0.7'))).toEqual(['10.0.0.7/32']);
  });

  it('refuses a reversed or malformed range', () => {
    expect(() => pool('172.30.0.250', '172.30.0.200')).toThrow(RangeError);
    expect(() => pool('172.30.0', '172.30.0.200')).toThrow(RangeError);
  });
});
