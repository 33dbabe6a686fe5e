import { describe, expect, it } from 'vitest';
import { isSubset } from './subset.ts';

describe('isSubset', () => {
  it('accepts fields the apiserver defaulted or other managers added', () => {
    const desired = { spec: { ports: [{ port: 15010, name: 'grpc' }] }, metadata: { labels: { a: '1' } } };
    const live = {
      spec: {
        ports: [{ port: 15010, name: 'grpc', protocol: 'TCP', targetPort: 15010 }],
        clusterIP: '10.96.0.9',
      },
      metadata: { labels: { a: '1', other: 'x' }, resourceVersion: '5' },
    };
    expect(isSubset(desired, live)).toBe(true);
  });

  it('rejects a changed scalar, a missing field and a list of another length', () => {
    expect(isSubset({ a: { b: 1 } }, { a: { b: 2 } })).toBe(false);
    expect(isSubset({ a: { b: 1 } }, { a: {} })).toBe(false);
    expect(isSubset({ l: [1, 2] }, { l: [1, 2, 3] })).toBe(false);
    expect(isSubset({ l: [{ x: 1 }] }, { l: [{ x: 2 }] })).toBe(false);
  });

  it('accepts zero values the apiserver omits, but not missing non-zero ones', () => {
    expect(isSubset({ spec: { hostNetwork: false, minReadySeconds: 0, x: [] } }, { spec: {} })).toBe(true);
    expect(isSubset({ spec: { hostNetwork: true } }, { spec: {} })).toBe(false);
  });

  it('treats an int and its string form as equal, but not other type changes', () => {
    expect(isSubset({ p: 8080 }, { p: '8080' })).toBe(true);
    expect(isSubset({ p: true }, { p: 'true' })).toBe(false);
    expect(isSubset({ p: {} }, { p: [] })).toBe(false);
  });
});
