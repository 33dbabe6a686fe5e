import { describe, expect, it } from 'vitest';
import { fieldPathFromPointer, joinFieldPath } from './field-path.ts';

describe('fieldPathFromPointer', () => {
  it.each([
    ['', ''],
    ['/spec', 'spec'],
    ['/spec/rules/0/from', 'spec.rules[0].from'],
    ['/metadata/labels/app.kubernetes.io~1name', 'metadata.labels["app.kubernetes.io/name"]'],
  ])('%s -> %s', (pointer, path) => {
    expect(fieldPathFromPointer(pointer)).toBe(path);
  });
});

describe('joinFieldPath', () => {
  it.each([
    ['spec.ca', '.workloadCertTTL', 'spec.ca.workloadCertTTL'],
    ['spec.ca', '', 'spec.ca'],
    ['spec', "['a.b']", "spec['a.b']"],
    ['', '.x', 'x'],
    ['spec', 'name', 'spec.name'],
  ])('%s + %s', (base, suffix, joined) => {
    expect(joinFieldPath(base, suffix)).toBe(joined);
  });
});
