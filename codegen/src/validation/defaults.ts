// Applies CRD `default` values the way the apiserver does before it validates: a missing property with a default
// gets a copy of it, then defaulting continues inside (so `default: {}` lets nested defaults apply).

interface DefaultingNode {
  readonly default?: unknown;
  readonly properties?: Readonly<Record<string, DefaultingNode>>;
  readonly additionalProperties?: DefaultingNode | boolean;
  readonly items?: DefaultingNode;
}

/** Mutates `value` in place; returns it for convenience. */
export function applyDefaults(value: unknown, schema: DefaultingNode): unknown {
  if (Array.isArray(value)) {
    if (schema.items) value.forEach((item) => applyDefaults(item, schema.items!));
    return value;
  }
  if (value === null || typeof value !== 'object') return value;
  const record = value as Record<string, unknown>;
  for (const [key, child] of Object.entries(schema.properties ?? {})) {
    if (record[key] === undefined && child.default !== undefined)
      record[key] = structuredClone(child.default);
    if (record[key] !== undefined) applyDefaults(record[key], child);
  }
  const additional = schema.additionalProperties;
  if (additional && typeof additional === 'object') {
    for (const [key, child] of Object.entries(record)) {
      if (!schema.properties?.[key]) applyDefaults(child, additional);
    }
  }
  return value;
}
