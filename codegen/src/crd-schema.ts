// Pure transforms from a CRD's openAPIV3Schema to the two schemas codegen needs: one shaped for
// json-schema-to-typescript (types) and one for ajv (validation with the apiserver's strictness).

/** A JSON-schema node (CRD structural schemas are a subset of JSON Schema draft 4 + x-kubernetes-*). */
export type SchemaNode = { [key: string]: unknown };

/** The subset of a CustomResourceDefinition codegen reads. */
export interface CrdDocument {
  readonly kind: string;
  readonly spec: {
    readonly group: string;
    readonly names: { readonly kind: string };
    readonly versions: readonly {
      readonly name: string;
      readonly schema?: { readonly openAPIV3Schema?: SchemaNode };
    }[];
  };
}

export class CodegenError extends Error {
  readonly code = 'ERR_CODEGEN';
}

/** Finds the schema of `group/version, kind` among parsed YAML documents. */
export function findVersionSchema(
  docs: readonly unknown[],
  group: string,
  version: string,
  kind: string,
): SchemaNode {
  const crd = docs.find(
    (d): d is CrdDocument =>
      (d as CrdDocument | null)?.kind === 'CustomResourceDefinition' &&
      (d as CrdDocument).spec.group === group &&
      (d as CrdDocument).spec.names.kind === kind,
  );
  if (!crd) throw new CodegenError(`no CustomResourceDefinition for ${kind}.${group}`);
  const schema = crd.spec.versions.find((v) => v.name === version)?.schema?.openAPIV3Schema;
  if (!schema)
    throw new CodegenError(`CustomResourceDefinition ${kind}.${group} has no schema for ${version}`);
  return schema;
}

/** Applies `fn` to every node reached through properties/additionalProperties/items (not through junctors). */
function mapStructural(
  node: SchemaNode,
  fn: (n: SchemaNode, path: readonly string[]) => SchemaNode,
  path: readonly string[] = [],
): SchemaNode {
  const out: SchemaNode = { ...fn(node, path) };
  const props = out.properties as Record<string, SchemaNode> | undefined;
  if (props) {
    out.properties = Object.fromEntries(
      Object.entries(props).map(([k, v]) => [k, mapStructural(v, fn, [...path, k])]),
    );
  }
  for (const key of ['additionalProperties', 'items'] as const) {
    const child = out[key];
    if (child !== null && typeof child === 'object' && !Array.isArray(child)) {
      out[key] = mapStructural(child as SchemaNode, fn, [...path, key === 'items' ? '[]' : '{}']);
    }
  }
  return out;
}

/** Removes keys everywhere in a schema tree (junctors included). */
function stripKeys(node: unknown, keys: ReadonlySet<string>): unknown {
  if (Array.isArray(node)) return node.map((n) => stripKeys(n, keys));
  if (node === null || typeof node !== 'object') return node;
  return Object.fromEntries(
    Object.entries(node)
      .filter(([k]) => !keys.has(k))
      .map(([k, v]) => [
        k,
        k === 'properties' || k === 'default' || k === 'enum'
          ? stripPropertyMap(k, v, keys)
          : stripKeys(v, keys),
      ]),
  );
}

/** Inside `properties` the keys are field names (a field may be called `description`); never strip those. */
function stripPropertyMap(kind: string, value: unknown, keys: ReadonlySet<string>): unknown {
  if (kind !== 'properties' || value === null || typeof value !== 'object') return value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, stripKeys(v, keys)]));
}

const preserveUnknown = 'x-kubernetes-preserve-unknown-fields';

/**
 * The schema ajv validates with. Like the apiserver with strict field validation (kubectl's default), an object
 * with declared properties rejects unknown fields unless it preserves them; `metadata` is left to the apiserver.
 */
export function toValidationSchema(schema: SchemaNode): SchemaNode {
  // The apiserver always accepts apiVersion, kind and metadata at the root, declared or not (Istio omits them).
  const properties = { ...(schema.properties as Record<string, SchemaNode> | undefined) };
  properties.apiVersion = { type: 'string' };
  properties.kind = { type: 'string' };
  properties.metadata = { type: 'object' };
  const strict = mapStructural({ ...schema, properties }, (node) => {
    if (node.properties && node.additionalProperties === undefined && node[preserveUnknown] !== true) {
      return { ...node, additionalProperties: false };
    }
    return node;
  });
  return stripKeys(strict, new Set(['description', 'example', 'externalDocs', 'title'])) as SchemaNode;
}

/** Names that json-schema-to-typescript turns into exported interfaces. */
export interface TypeNames {
  readonly kind: string;
  readonly apiVersion: string;
}

/**
 * The schema json-schema-to-typescript reads: apiVersion and kind become literal types, metadata the shared
 * ObjectMeta, spec/status named `<Kind>Spec`/`<Kind>Status`, preserved-unknown objects open maps.
 */
export function toTypeSchema(schema: SchemaNode, names: TypeNames): SchemaNode {
  const typed = mapStructural(schema, (node) => {
    let out = node;
    if (node[preserveUnknown] === true) {
      out = node.properties
        ? { ...out, additionalProperties: true }
        : { ...out, tsType: '{ [key: string]: unknown }' };
    }
    if (node['x-kubernetes-int-or-string'] === true && !node.anyOf)
      out = { ...out, tsType: 'number | string' };
    return out;
  });
  const properties = { ...(typed.properties as Record<string, SchemaNode>) };
  properties.apiVersion = {
    type: 'string',
    const: names.apiVersion,
    tsType: JSON.stringify(names.apiVersion),
  };
  properties.kind = { type: 'string', const: names.kind, tsType: JSON.stringify(names.kind) };
  properties.metadata = { tsType: 'ObjectMeta' };
  for (const part of ['spec', 'status'] as const) {
    const node = properties[part];
    if (node && !node.title)
      properties[part] = { ...node, title: `${names.kind}${part === 'spec' ? 'Spec' : 'Status'}` };
  }
  const required = new Set([
    ...((typed.required as string[] | undefined) ?? []),
    'apiVersion',
    'kind',
    'metadata',
  ]);
  return hoistRepeatedTitles({ ...typed, title: names.kind, properties, required: [...required] });
}

/**
 * A titled shape used in several places (YAML anchors in our CRD) becomes one definition referenced by `$ref`,
 * so that it is one exported interface rather than `Component`, `Component1`, ...
 */
export function hoistRepeatedTitles(schema: SchemaNode): SchemaNode {
  const counts = new Map<string, number>();
  const count = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(count);
    if (node === null || typeof node !== 'object') return;
    const title = (node as SchemaNode).title;
    if (typeof title === 'string') counts.set(title, (counts.get(title) ?? 0) + 1);
    Object.values(node).forEach(count);
  };
  count(schema.properties);
  const definitions: Record<string, unknown> = {};
  const replace = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(replace);
    if (node === null || typeof node !== 'object') return node;
    const mapped = Object.fromEntries<unknown>(Object.entries(node).map(([k, v]) => [k, replace(v)]));
    const title = mapped.title;
    if (typeof title !== 'string' || (counts.get(title) ?? 0) < 2) return mapped;
    const existing = definitions[title];
    if (existing !== undefined && JSON.stringify(existing) !== JSON.stringify(mapped)) {
      throw new CodegenError(`two different schemas share the title ${title}`);
    }
    definitions[title] = mapped;
    return { $ref: `#/definitions/${title}` };
  };
  const properties = replace(schema.properties);
  return Object.keys(definitions).length === 0 ? schema : { ...schema, properties, definitions };
}
