// The root Secret's layout: every phase reads back as written, and a Secret from before rotation reads as steady.
import { describe, expect, it } from 'vitest';
import type { RootState } from '../ca/rotation.ts';
import { decodeRootState, encodeRootState, PHASE_ANNOTATION, RootStoreError } from './root-store.ts';

const pair = (n: string) => ({ certPem: `cert ${n}\n`, keyPem: `key ${n}\n` });
const since = Date.parse('2026-03-04T05:06:07.008Z');

function secret(s: RootState) {
  const { data, annotations } = encodeRootState(s);
  return { metadata: { name: 'ambit-ca-root', namespace: 'ambit-system', annotations }, data };
}

describe('the root Secret', () => {
  it.each<[string, RootState]>([
    ['steady', { current: pair('a'), since }],
    [
      'steady after a rotation, with a request acted on',
      { current: pair('b'), cross: 'x', since, handledRequest: '1' },
    ],
    ['adding', { current: pair('a'), next: pair('b'), nextCross: 'x', since }],
    ['switched', { current: pair('b'), cross: 'x', previous: 'cert a\n', since, handledRequest: 'now' }],
  ])('round-trips %s', (_name, state) => {
    const s = secret(state);
    expect(decodeRootState(s)).toEqual(state);
    expect(s.metadata.annotations[PHASE_ANNOTATION]).toBe(_name.split(' ')[0]);
    // The signing root stays where a kubernetes.io/tls Secret has it.
    expect(Buffer.from(s.data['tls.crt'] ?? '', 'base64').toString()).toBe(state.current.certPem);
  });

  it('reads a Secret written before rotation existed as steady', () => {
    const data = {
      'tls.crt': Buffer.from('c').toString('base64'),
      'tls.key': Buffer.from('k').toString('base64'),
    };
    expect(decodeRootState({ metadata: { name: 'ambit-ca-root' }, data })).toEqual({
      current: { certPem: 'c', keyPem: 'k' },
      since: 0,
    });
  });

  it('refuses a Secret without a root, with both a next and a previous root, or with a bad time', () => {
    expect(() => decodeRootState({ metadata: { name: 'x' }, data: {} })).toThrow(RootStoreError);
    const both = secret({ current: pair('a'), next: pair('b'), since });
    both.data['previous.crt'] = Buffer.from('p').toString('base64');
    expect(() => decodeRootState(both)).toThrow('both a next and a previous');
    const badTime = secret({ current: pair('a'), since });
    badTime.metadata.annotations['ambit.dev/root-phase-since'] = 'soon';
    expect(() => decodeRootState(badTime)).toThrow('not a time');
  });
});
