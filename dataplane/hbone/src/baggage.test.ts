// The W3C baggage parser: what it reads, and every malformed form it ignores whole instead of throwing.
import { describe, expect, it } from 'vitest';
import { MAX_BAGGAGE_LENGTH, MAX_BAGGAGE_MEMBERS, parseBaggage } from './baggage.ts';

const entries = (header: string | undefined) => {
  const m = parseBaggage(header);
  return m && Object.fromEntries(m);
};

describe('parseBaggage', () => {
  it('reads the members a waypoint sends', () => {
    expect(
      entries(
        'k8s.source.principal=spiffe://cluster.local/ns/default/sa/sleep,k8s.source.namespace=default,k8s.source.workload=sleep',
      ),
    ).toEqual({
      'k8s.source.principal': 'spiffe://cluster.local/ns/default/sa/sleep',
      'k8s.source.namespace': 'default',
      'k8s.source.workload': 'sleep',
    });
  });

  it('takes whitespace around members, keys and values, and drops properties', () => {
    expect(entries(' a = 1 ;p1 ; p2=x%20y ,\tb=2;q ')).toEqual({ a: '1', b: '2' });
  });

  it('percent-decodes values as UTF-8, leaving `+` alone', () => {
    expect(entries('a=caf%C3%A9,b=x%2Cy%3Bz,c=1+1,d=')).toEqual({ a: 'café', b: 'x,y;z', c: '1+1', d: '' });
  });

  it('is empty for an absent or empty header, and skips empty members', () => {
    expect(entries(undefined)).toEqual({});
    expect(entries('')).toEqual({});
    expect(entries('a=1,, ,b=2,')).toEqual({ a: '1', b: '2' });
  });

  it.each([
    ['bad percent-encoding', 'a=%zz'],
    ['a truncated escape', 'a=50%'],
    ['escapes that are not UTF-8', 'a=%C3'],
    ['a member without `=`', 'a=1,b'],
    ['an empty key', '=1'],
    ['a key that is not a token', 'a b=1'],
    ['a space inside a value', 'a=x y'],
    ['a quote in a value', 'a="x"'],
    ['a backslash in a value', 'a=x\\y'],
    ['a non-ASCII value', 'a=café'],
    ['a control character in a value', 'a=x\ny'],
    ['a malformed property', 'a=1;p q'],
    ['a property with a bad value', 'a=1;p=x y'],
    [
      'the same key twice',
      'k8s.source.principal=spiffe://td/ns/a/sa/x,k8s.source.principal=spiffe://td/ns/b/sa/y',
    ],
  ])('ignores %s', (_why, header) => {
    expect(parseBaggage(header)).toBeUndefined();
  });

  it(`ignores a header over ${MAX_BAGGAGE_LENGTH} bytes, not one at the limit`, () => {
    const at = `a=${'x'.repeat(MAX_BAGGAGE_LENGTH - 2)}`;
    expect(parseBaggage(at)?.get('a')).toHaveLength(MAX_BAGGAGE_LENGTH - 2);
    expect(parseBaggage(`${at}x`)).toBeUndefined();
    expect(parseBaggage('a=1,'.repeat(10_000))).toBeUndefined();
  });

  it(`ignores more than ${MAX_BAGGAGE_MEMBERS} members`, () => {
    const members = (n: number) => Array.from({ length: n }, (_, i) => `k${i}=v`).join(',');
    expect(parseBaggage(members(MAX_BAGGAGE_MEMBERS))?.size).toBe(MAX_BAGGAGE_MEMBERS);
    expect(parseBaggage(members(MAX_BAGGAGE_MEMBERS + 1))).toBeUndefined();
  });
});
