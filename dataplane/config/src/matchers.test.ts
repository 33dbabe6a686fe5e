import { describe, expect, it } from 'vitest';
import { hostOf, ipInCidr, matchesHostPattern, matchesPattern, parseIpv4Cidr, pathOf } from './matchers.ts';

describe('matchesPattern', () => {
  it.each([
    ['*', 'anything', true],
    ['*', undefined, false],
    ['cluster.local/ns/a/*', 'cluster.local/ns/a/sa/b', true],
    ['cluster.local/ns/a/*', 'cluster.local/ns/ab/sa/b', false],
    ['*/sa/b', 'cluster.local/ns/a/sa/b', true],
    ['*/sa/b', 'cluster.local/ns/a/sa/bb', false],
    ['exact', 'exact', true],
    ['exact', 'exactly', false],
    ['exact', undefined, false],
  ])('%s vs %s -> %s', (pattern, value, expected) => {
    expect(matchesPattern(pattern, value)).toBe(expected);
  });
});

describe('CIDRs', () => {
  it.each([
    ['10.244.1.5', '10.244.0.0/16', true],
    ['10.245.1.5', '10.244.0.0/16', false],
    ['10.244.1.5', '10.244.1.5', true],
    ['10.244.1.6', '10.244.1.5', false],
    ['1.2.3.4', '0.0.0.0/0', true],
    ['10.0.0.1', '10.0.0.0/31', true],
    ['10.0.0.2', '10.0.0.0/31', false],
    ['10.0.0.1', 'fd00::/8', false],
    ['fd00::1', '10.0.0.0/8', false],
  ])('%s in %s -> %s', (ip, cidr, expected) => {
    expect(ipInCidr(ip, cidr)).toBe(expected);
  });

  it.each(['10.0.0.0/33', '10.0.0/8', '10.0.0.256', 'a.b.c.d', '10.0.0.0/8/1', '10.0.0.0/x', 'fd00::/8'])(
    'rejects %s',
    (text) => {
      expect(parseIpv4Cidr(text)).toBeUndefined();
    },
  );

  it('normalises host bits', () => {
    expect(parseIpv4Cidr('10.1.2.3/8')).toEqual(parseIpv4Cidr('10.0.0.0/8'));
  });
});

describe('request values', () => {
  it.each([
    ['a.b', 'a.b'],
    ['a.b:80', 'a.b'],
    ['[fd00::1]:80', '[fd00::1]'],
    ['[fd00::1]', '[fd00::1]'],
  ])('hostOf(%s) = %s', (authority, host) => {
    expect(hostOf(authority)).toBe(host);
  });

  it.each([
    ['/a/b?c=d', '/a/b'],
    ['/a#frag', '/a'],
    ['/a', '/a'],
  ])('pathOf(%s) = %s', (target, path) => {
    expect(pathOf(target)).toBe(path);
  });

  it.each([
    ['Example.COM', 'example.com', true],
    ['*.example.com', 'API.Example.com', true],
    ['*.example.com', 'example.com', false],
  ])('matchesHostPattern(%s, %s) = %s', (pattern, host, expected) => {
    expect(matchesHostPattern(pattern, host)).toBe(expected);
  });
});
