// Parses multi-document YAML into Kubernetes objects, orders them for apply and maps them to REST paths (pure).
import { parseAllDocuments } from 'yaml';
import { ClusterError } from './errors.ts';

/** The fields of any Kubernetes object the harness looks at; the rest is passed through untouched. */
export interface KubeObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { readonly name: string; readonly namespace?: string };
  readonly [field: string]: unknown;
}

export interface ManifestDoc {
  /** File (or other origin) and 0-based document index, for error messages. */
  readonly source: string;
  readonly object: KubeObject;
}

/** The part of a discovery APIResource needed to build a path. */
export interface ResourceInfo {
  readonly name: string;
  readonly namespaced: boolean;
}

export const CRD_KIND = 'CustomResourceDefinition';

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function toKubeObject(value: unknown, source: string): KubeObject {
  const meta = isRecord(value) ? value.metadata : undefined;
  if (
    !isRecord(value) ||
    typeof value.apiVersion !== 'string' ||
    typeof value.kind !== 'string' ||
    !isRecord(meta)
  ) {
    throw new ClusterError(
      'ERR_CLUSTER_MANIFEST',
      `${source}: not a kubernetes object (needs apiVersion, kind, metadata)`,
    );
  }
  if (typeof meta.name !== 'string' || meta.name === '') {
    throw new ClusterError('ERR_CLUSTER_MANIFEST', `${source}: ${value.kind} has no metadata.name`);
  }
  return value as KubeObject;
}

/** Every non-empty document of `text`; `kind: *List` documents are expanded into their items. */
export function parseManifests(text: string, source: string): ManifestDoc[] {
  const docs: ManifestDoc[] = [];
  parseAllDocuments(text).forEach((doc, i) => {
    const where = `${source}#${i}`;
    if (doc.errors.length > 0) {
      throw new ClusterError('ERR_CLUSTER_MANIFEST', `${where}: invalid yaml: ${doc.errors[0]?.message}`);
    }
    const value: unknown = doc.toJS({ maxAliasCount: -1 });
    if (value === null || value === undefined) return;
    if (
      isRecord(value) &&
      typeof value.kind === 'string' &&
      value.kind.endsWith('List') &&
      Array.isArray(value.items)
    ) {
      value.items.forEach((item, j) =>
        docs.push({ source: `${where}.items[${j}]`, object: toKubeObject(item, where) }),
      );
      return;
    }
    docs.push({ source: where, object: toKubeObject(value, where) });
  });
  return docs;
}

/** Namespaces, then CRDs, then the rest, each group in file order: what a later document may depend on comes first. */
export function orderForApply(docs: readonly ManifestDoc[]): ManifestDoc[] {
  const rank = (d: ManifestDoc): number =>
    d.object.kind === 'Namespace' ? 0 : d.object.kind === CRD_KIND ? 1 : 2;
  return [...docs].sort((a, b) => rank(a) - rank(b)); // Array.prototype.sort is stable
}

/** `/api/v1` for the core group, `/apis/<group>/<version>` otherwise. */
export function groupVersionPath(apiVersion: string): string {
  return apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
}

/** The object's URL path; namespaced objects without a namespace go to `default`, like kubectl. */
export function objectPath(obj: KubeObject, resource: ResourceInfo): string {
  const ns = resource.namespaced
    ? `/namespaces/${encodeURIComponent(obj.metadata.namespace ?? 'default')}`
    : '';
  return `${groupVersionPath(obj.apiVersion)}${ns}/${resource.name}/${encodeURIComponent(obj.metadata.name)}`;
}

/** True if the object is one of the kinds the CRD bundle installs (CRDs and admission policies). */
export function isClusterSchemaKind(kind: string): boolean {
  return kind === CRD_KIND || kind.startsWith('ValidatingAdmissionPolicy');
}
