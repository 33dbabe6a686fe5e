import { describe, expect, it } from 'vitest';
import { cidrContains, cidrHas, cidrsOverlap, formatCidr, formatIpv4, parseCidr, parseIpv4 } from './cidr.ts';

const cidr = (text: string) => {
  const parsed = parseCidr(text);
  if (parsed === undefined) throw new Error(`bad test CIDR ${text}`);
  return parsed;
};

describe('IPv4 CIDR arithmetic', () => {
  it('parses and formats addresses, rejecting what is not a dotted quad', () => {
    expect(parseIpv4('10.244.1.7')).toBe(0x0af40107);
    expect(formatIpv4(0xac1e000a)).toBe('172.30.0.10');
    expect(formatIpv4(0xffffffff)).toBe('255.255.255.255');
    for (const bad of ['10.244.1', '10.244.1.256', '10.244.01.1', '1.2.3.4.5', 'a.b.c.d', '']) {
      expect(parseIpv4(bad), bad).toBeUndefined();
    }
  });

  it('parses network CIDRs only (host bits zero)', () => {
    expect(parseCidr('10.244.0.0/16')).toEqual({ base: 0x0af40000, prefix: 16 });
    expect(formatCidr(cidr('172.30.0.0/24'))).toBe('172.30.0.0/24');
    expect(parseCidr('0.0.0.0/0')).toEqual({ base: 0, prefix: 0 });
    expect(parseCidr('10.244.1.1/32')).toEqual({ base: 0x0af40101, prefix: 32 });
    for (const bad of [
      '10.244.1.0/16',
      '10.244.0.0/33',
      '10.244.0.0',
      '10.244.0.0/',
      '10.244.0.0/08',
      '/8',
    ]) {
      expect(parseCidr(bad), bad).toBeUndefined();
    }
  });

  it('answers containment and overlap', () => {
    expect(cidrContains(cidr('10.244.0.0/16'), cidr('10.244.7.0/24'))).toBe(true);
    expect(cidrContains(cidr('10.244.7.0/24'), cidr('10.244.0.0/16'))).toBe(false);
    expect(cidrContains(cidr('10.244.0.0/16'), cidr('10.245.0.0/24'))).toBe(false);
    expect(cidrContains(cidr('0.0.0.0/0'), cidr('192.0.2.0/24'))).toBe(true);
    expect(cidrsOverlap(cidr('10.244.0.0/23'), cidr('10.244.1.0/24'))).toBe(true);
    expect(cidrsOverlap(cidr('10.244.0.0/24'), cidr('10.244.1.0/24'))).toBe(false);
    expect(cidrHas(cidr('172.30.0.0/24'), 0xac1e00ff)).toBe(true);
    expect(cidrHas(cidr('172.30.0.0/24'), 0xac1e0100)).toBe(false);
  });
});
