import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../render/contract.ts';
import { APPLIED_HASH_ANNOTATION, olderVersion, upToDate, withAppliedHash } from './apply.ts';

const desired: KubeObject = {
  apiVersion: 'v1',
  kind: 'ServiceAccount',
  metadata: { name: 'ztunnel', namespace: 'ambit-system', labels: { a: '1' } },
  automountServiceAccountToken: false,
};

describe('upToDate', () => {
  const live = {
    ...withAppliedHash(desired),
    metadata: { ...withAppliedHash(desired).metadata, uid: 'u', resourceVersion: '9' },
  };

  it('is true when the live object carries our hash and every desired field', () => {
    expect(upToDate(desired, live)).toBe(true);
  });

  it('is false when nothing is live yet', () => {
    expect(upToDate(desired, undefined)).toBe(false);
  });

  it('is false when we stopped setting a field (the hash differs)', () => {
    const fewer: KubeObject = { ...desired, metadata: { name: 'ztunnel', namespace: 'ambit-system' } };
    expect(upToDate(fewer, live)).toBe(false);
  });

  it('is false when someone edited a field we own (drift)', () => {
    const edited = { ...live, automountServiceAccountToken: true };
    expect(upToDate(desired, edited)).toBe(false);
  });

  it('hashes independently of key order', () => {
    const reordered: KubeObject = {
      automountServiceAccountToken: false,
      metadata: { labels: { a: '1' }, namespace: 'ambit-system', name: 'ztunnel' },
      kind: 'ServiceAccount',
      apiVersion: 'v1',
    };
    expect(withAppliedHash(reordered).metadata.annotations?.[APPLIED_HASH_ANNOTATION]).toBe(
      withAppliedHash(desired).metadata.annotations?.[APPLIED_HASH_ANNOTATION],
    );
  });
});

describe('olderVersion', () => {
  it('orders integer resourceVersions numerically and treats anything else as not older', () => {
    expect(olderVersion('99', '100')).toBe(true);
    expect(olderVersion('100', '100')).toBe(false);
    expect(olderVersion('101', '100')).toBe(false);
    expect(olderVersion(undefined, '100')).toBe(true);
    expect(olderVersion('abc', '100')).toBe(false);
  });
});
