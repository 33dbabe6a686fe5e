import { describe, expect, it } from 'vitest';
import {
  CodegenError,
  findVersionSchema,
  hoistRepeatedTitles,
  toTypeSchema,
  toValidationSchema,
} from './crd-schema.ts';

/** Reads a dotted path out of a schema tree. */
function dig(node: unknown, path: string): unknown {
  return path.split('.').reduce<unknown>((n, key) => (n as Record<string, unknown> | undefined)?.[key], node);
}

const schema = {
  type: 'object',
  description: 'root',
  properties: {
    metadata: { type: 'object', properties: { name: { type: 'string' } } },
    spec: {
      type: 'object',
      properties: {
        description: { type: 'string', description: 'a field named description' },
        rules: {
          type: 'array',
          items: {
            type: 'object',
            properties: { port: { type: 'integer' } },
            oneOf: [{ properties: { port: { minimum: 1 } }, required: ['port'] }],
          },
        },
        free: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
        open: {
          type: 'object',
          properties: { a: { type: 'string' } },
          'x-kubernetes-preserve-unknown-fields': true,
        },
        port: { 'x-kubernetes-int-or-string': true },
      },
    },
    status: { type: 'object', properties: { ok: { type: 'boolean' } } },
  },
};

describe('toValidationSchema', () => {
  const v = toValidationSchema(schema);

  it('rejects unknown fields where properties are declared, like strict field validation', () => {
    expect(dig(v, 'properties.spec.additionalProperties')).toBe(false);
    expect(dig(v, 'properties.spec.properties.rules.items.additionalProperties')).toBe(false);
  });

  it('does not touch junctors, preserved objects or metadata', () => {
    expect(dig(v, 'properties.spec.properties.rules.items.oneOf.0.additionalProperties')).toBeUndefined();
    expect(dig(v, 'properties.spec.properties.open.additionalProperties')).toBeUndefined();
    expect(dig(v, 'properties.metadata')).toEqual({ type: 'object' });
  });

  it('drops descriptions but keeps a field that is called description', () => {
    expect(dig(v, 'description')).toBeUndefined();
    expect(dig(v, 'properties.spec.properties.description')).toEqual({ type: 'string' });
  });
});

describe('toTypeSchema', () => {
  const t = toTypeSchema(schema, { kind: 'Thing', apiVersion: 'x.dev/v1' });

  it('makes apiVersion and kind literal, metadata shared, spec and status named', () => {
    expect(dig(t, 'title')).toBe('Thing');
    expect(dig(t, 'properties.apiVersion.tsType')).toBe('"x.dev/v1"');
    expect(dig(t, 'properties.kind.tsType')).toBe('"Thing"');
    expect(dig(t, 'properties.metadata')).toEqual({ tsType: 'ObjectMeta' });
    expect(dig(t, 'properties.spec.title')).toBe('ThingSpec');
    expect(dig(t, 'properties.status.title')).toBe('ThingStatus');
    expect(dig(t, 'required')).toEqual(expect.arrayContaining(['apiVersion', 'kind', 'metadata']));
  });

  it('types preserved-unknown objects as open maps and int-or-string as a union', () => {
    expect(dig(t, 'properties.spec.properties.free.tsType')).toBe('{ [key: string]: unknown }');
    expect(dig(t, 'properties.spec.properties.open.additionalProperties')).toBe(true);
    expect(dig(t, 'properties.spec.properties.port.tsType')).toBe('number | string');
  });
});

describe('hoistRepeatedTitles', () => {
  const part = { type: 'object', title: 'Part', properties: { a: { type: 'string' } } };

  it('turns a titled shape used twice into one definition', () => {
    const out = hoistRepeatedTitles({ properties: { x: part, y: { ...part } } });
    expect(out.properties).toEqual({ x: { $ref: '#/definitions/Part' }, y: { $ref: '#/definitions/Part' } });
    expect(out.definitions).toEqual({ Part: part });
  });

  it('refuses two different shapes under one title', () => {
    const other = { ...part, properties: { b: { type: 'string' } } };
    expect(() => hoistRepeatedTitles({ properties: { x: part, y: other } })).toThrow(CodegenError);
  });
});

describe('findVersionSchema', () => {
  const crd = {
    kind: 'CustomResourceDefinition',
    spec: {
      group: 'x.dev',
      names: { kind: 'Thing' },
      versions: [{ name: 'v1', schema: { openAPIV3Schema: schema } }],
    },
  };

  it('finds a version schema and names what is missing otherwise', () => {
    expect(findVersionSchema([{ kind: 'Other' }, crd], 'x.dev', 'v1', 'Thing')).toBe(schema);
    expect(() => findVersionSchema([crd], 'x.dev', 'v2', 'Thing')).toThrow(
      'Thing.x.dev has no schema for v2',
    );
    expect(() => findVersionSchema([crd], 'y.dev', 'v1', 'Thing')).toThrow(
      'no CustomResourceDefinition for Thing.y.dev',
    );
  });
});
