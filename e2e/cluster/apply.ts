// Server-side applies manifest files to a cluster and waits for their CRDs to be Established.
import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { ClusterError } from './errors.ts';
import {
  CRD_KIND,
  groupVersionPath,
  objectPath,
  orderForApply,
  parseManifests,
  type KubeObject,
  type ManifestDoc,
  type ResourceInfo,
} from './manifests.ts';
import { apiError, type ApiClient, type ApiResponse } from './rest.ts';

export const FIELD_MANAGER = 'ambit-e2e';
const APPLY_CONTENT_TYPE = 'application/apply-patch+yaml';
const ESTABLISH_TIMEOUT_MS = 30_000;
/** A kind whose CRD was just established can take a moment to show up in discovery. */
const DISCOVERY_TIMEOUT_MS = 15_000;
const TRANSIENT_RETRIES = 5;

interface ApiResourceList {
  resources: (ResourceInfo & { kind: string })[];
}

interface CrdStatus {
  status?: { conditions?: { type: string; status: string; reason?: string; message?: string }[] };
}

/** Maps apiVersion+kind to a resource via discovery, refetching a group version when a kind is missing. */
class Discovery {
  readonly #api: ApiClient;
  readonly #cache = new Map<string, ApiResourceList>();

  constructor(api: ApiClient) {
    this.#api = api;
  }

  async #fetch(apiVersion: string): Promise<ApiResourceList | undefined> {
    const res = await this.#api.request('GET', groupVersionPath(apiVersion));
    if (res.status === 404) return undefined; // group not (yet) served
    if (res.status !== 200) throw apiError(`discover ${apiVersion}`, res);
    const list = JSON.parse(res.body) as ApiResourceList;
    this.#cache.set(apiVersion, list);
    return list;
  }

  async resource(obj: KubeObject, source: string): Promise<ResourceInfo> {
    const find = (list: ApiResourceList | undefined): ResourceInfo | undefined =>
      list?.resources.find((r) => r.kind === obj.kind && !r.name.includes('/'));
    const cached = find(this.#cache.get(obj.apiVersion));
    if (cached) return cached;
    const deadline = Date.now() + DISCOVERY_TIMEOUT_MS;
    for (;;) {
      const found = find(await this.#fetch(obj.apiVersion));
      if (found) return found;
      if (Date.now() >= deadline) {
        throw new ClusterError(
          'ERR_CLUSTER_MANIFEST',
          `${source}: the server has no resource for ${obj.apiVersion} ${obj.kind}`,
        );
      }
      await sleep(250);
    }
  }
}

function isTransient(res: ApiResponse): boolean {
  return res.status === 429 || res.status >= 500;
}

async function applyOne(api: ApiClient, discovery: Discovery, doc: ManifestDoc): Promise<void> {
  const path = `${objectPath(doc.object, await discovery.resource(doc.object, doc.source))}?fieldManager=${FIELD_MANAGER}&force=true`;
  const body = JSON.stringify(doc.object); // JSON is YAML, and the apply content type accepts it
  for (let attempt = 1; ; attempt++) {
    const res = await api.request('PATCH', path, { body, contentType: APPLY_CONTENT_TYPE });
    if (res.status === 200 || res.status === 201) return;
    if (!isTransient(res) || attempt >= TRANSIENT_RETRIES) {
      throw apiError(`apply ${doc.object.kind} ${doc.object.metadata.name} from ${doc.source}`, res);
    }
    await sleep(200 * attempt);
  }
}

/** Resolves once the CRD's Established condition is True; fails fast if its names were rejected. */
export async function waitEstablished(
  api: ApiClient,
  name: string,
  timeoutMs = ESTABLISH_TIMEOUT_MS,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const crd = await api.getJson<CrdStatus>(
      `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${name}`,
    );
    const conditions = crd.status?.conditions ?? [];
    if (conditions.some((c) => c.type === 'Established' && c.status === 'True')) return;
    const rejected = conditions.find((c) => c.type === 'NamesAccepted' && c.status === 'False');
    if (rejected)
      throw new ClusterError('ERR_CLUSTER_API', `crd ${name} names not accepted: ${rejected.message}`);
    if (Date.now() >= deadline) {
      throw new ClusterError(
        'ERR_CLUSTER_READY_TIMEOUT',
        `crd ${name} not established after ${timeoutMs} ms`,
      );
    }
    await sleep(100);
  }
}

/**
 * Applies every document of `paths` with server-side apply (field manager `ambit-e2e`, forced), Namespaces and
 * CRDs first; waits for those CRDs to be Established before applying the rest, so custom resources can follow their
 * definitions in the same files. Returns the applied objects in apply order.
 */
export async function applyManifestFiles(api: ApiClient, paths: readonly string[]): Promise<KubeObject[]> {
  const docs: ManifestDoc[] = [];
  for (const path of paths) docs.push(...parseManifests(await readFile(path, 'utf8'), path));
  const ordered = orderForApply(docs);
  const discovery = new Discovery(api);
  const isCrd = (d: ManifestDoc): boolean =>
    d.object.kind === CRD_KIND && d.object.apiVersion.startsWith('apiextensions.k8s.io/');
  const first = new Set(ordered.filter((d) => d.object.kind === 'Namespace' || isCrd(d)));
  for (const doc of first) await applyOne(api, discovery, doc);
  await Promise.all([...first].filter(isCrd).map((d) => waitEstablished(api, d.object.metadata.name)));
  for (const doc of ordered) if (!first.has(doc)) await applyOne(api, discovery, doc);
  return ordered.map((d) => d.object);
}
