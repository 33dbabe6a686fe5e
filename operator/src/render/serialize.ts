// Objects to YAML, byte for byte the same for the same objects: documents in a fixed order, keys sorted at every
// level, no line folding (so a yaml upgrade or a longer value does not reflow unrelated lines).
import { stringify } from 'yaml';
import type { KubeObject } from './contract.ts';

/**
 * The order kinds are applied in: definitions and the namespace first, then identities and their permissions, then
 * what runs with them. Kinds not listed follow, by name.
 */
const KIND_ORDER = [
  'CustomResourceDefinition',
  'Namespace',
  'ServiceAccount',
  'Secret',
  'ConfigMap',
  'ClusterRole',
  'ClusterRoleBinding',
  'Role',
  'RoleBinding',
  'Service',
  'DaemonSet',
  'Deployment',
  'PodDisruptionBudget',
  'GatewayClass',
];

function kindRank(kind: string): number {
  const i = KIND_ORDER.indexOf(kind);
  return i === -1 ? KIND_ORDER.length : i;
}

/** Code-unit order: the same on every machine, unlike locale collation. */
function byCodeUnit(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function compareObjects(a: KubeObject, b: KubeObject): number {
  return (
    kindRank(a.kind) - kindRank(b.kind) ||
    byCodeUnit(a.kind, b.kind) ||
    byCodeUnit(a.apiVersion, b.apiVersion) ||
    byCodeUnit(a.metadata.namespace ?? '', b.metadata.namespace ?? '') ||
    byCodeUnit(a.metadata.name, b.metadata.name)
  );
}

/** A copy of `value` with every object's keys sorted (arrays keep their order: it can mean something). */
function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value).sort(([a], [b]) => byCodeUnit(a, b));
    return Object.fromEntries(entries.map(([k, v]) => [k, sortKeys(v)]));
  }
  return value;
}

/** `objects` in apply order. */
export function sortObjects(objects: readonly KubeObject[]): KubeObject[] {
  return [...objects].sort(compareObjects);
}

/** A multi-document YAML stream of `objects`, in apply order, each document starting with `---`. */
export function toYamlDocuments(objects: readonly KubeObject[]): string {
  return sortObjects(objects)
    .map((o) => `---\n${stringify(sortKeys(o), { lineWidth: 0, aliasDuplicateObjects: false })}`)
    .join('');
}
