import { describe, expect, it } from 'vitest';
import { makeValidator } from './index.ts';

const schema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    metadata: { type: 'object' },
    port: { anyOf: [{ type: 'integer' }, { type: 'string' }], 'x-kubernetes-int-or-string': true },
    tags: { type: 'array', 'x-kubernetes-list-type': 'set', items: { type: 'string' } },
    ports: {
      type: 'array',
      'x-kubernetes-list-type': 'map',
      'x-kubernetes-list-map-keys': ['port', 'protocol'],
      items: {
        type: 'object',
        additionalProperties: false,
        properties: { port: { type: 'integer' }, protocol: { type: 'string', default: 'TCP' } },
      },
    },
    embedded: {
      type: 'object',
      'x-kubernetes-embedded-resource': true,
      'x-kubernetes-preserve-unknown-fields': true,
    },
    range: {
      type: 'object',
      additionalProperties: false,
      properties: { min: { type: 'integer' }, max: { type: 'integer' } },
      'x-kubernetes-validations': [
        { rule: 'self.min <= self.max', message: 'min must not exceed max', fieldPath: '.min' },
      ],
    },
    when: { type: 'string', format: 'some-format-only-k8s-knows' },
  },
};

type Thing = Record<string, unknown>;
const validator = makeValidator<Thing>('test.ambit.dev/v1', 'Thing', schema);

function issuesOf(object: unknown) {
  const result = validator.validate(object);
  return result.ok ? [] : result.issues;
}

describe('makeValidator', () => {
  it('accepts a valid object and returns a defaulted copy without touching the input', () => {
    const input = { metadata: { name: 'a' }, ports: [{ port: 80 }], port: 'http' };
    const result = validator.validate(input);
    expect(result.ok).toBe(true);
    if (result.ok) expect(result.value.ports).toEqual([{ port: 80, protocol: 'TCP' }]);
    expect(input.ports[0]).toEqual({ port: 80 });
  });

  it('names the field of every problem', () => {
    const issues = issuesOf({ metadata: { name: 'x' }, port: 1.5, extra: true, range: { min: 5, max: 1 } });
    expect(issues).toEqual(
      expect.arrayContaining([
        { field: 'extra', message: 'unknown field' },
        { field: 'range.min', message: 'min must not exceed max' },
      ]),
    );
    expect(issues.some((i) => i.field === 'port')).toBe(true);
  });

  it('rejects duplicates in set and map lists, naming the duplicate', () => {
    expect(issuesOf({ tags: ['a', 'b', 'a'] })).toEqual([
      { field: 'tags[2]', message: 'duplicate value "a"' },
    ]);
    expect(issuesOf({ ports: [{ port: 80 }, { port: 80, protocol: 'TCP' }] })).toEqual([
      { field: 'ports[1]', message: 'duplicate entry with port=80, protocol="TCP"' },
    ]);
    expect(issuesOf({ ports: [{ port: 80 }, { port: 80, protocol: 'UDP' }] })).toEqual([]);
  });

  it('requires apiVersion and kind in embedded resources', () => {
    expect(issuesOf({ embedded: { apiVersion: 'v1', kind: 'Pod', spec: {} } })).toEqual([]);
    expect(issuesOf({ embedded: { kind: 'Pod' } })).toEqual([
      { field: 'embedded', message: 'embedded object must set apiVersion' },
    ]);
  });

  it('accepts formats only Kubernetes knows, as the apiserver does', () => {
    expect(issuesOf({ when: 'anything' })).toEqual([]);
  });

  it('throws an error naming the object from assertValid', () => {
    expect(() => validator.assertValid({ metadata: { name: 'n', namespace: 'ns' }, bad: 1 })).toThrow(
      'Thing "ns/n" is invalid: bad: unknown field',
    );
  });
});
