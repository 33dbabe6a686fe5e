// Server-side apply of rendered objects under one field manager, skipping objects that already say what we want,
// so a reconcile with nothing to change issues no writes. "Already says" = the live object carries the hash of the
// desired object we last applied (catches fields we stopped setting) and still contains every desired field
// (catches someone else's edits: drift is put back).
import { createHash } from 'node:crypto';
import {
  ApiException,
  KubernetesObjectApi,
  PatchStrategy,
  type KubeConfig,
  type KubernetesObject,
} from '@kubernetes/client-node';
import { apiErrorMessage } from '../api-error.ts';
import type { KubeObject } from '../render/contract.ts';
import { isSubset } from './subset.ts';

export const FIELD_MANAGER = 'ambit-operator';
export const APPLIED_HASH_ANNOTATION = 'ambit.dev/applied-hash';

/** Writes issued, for logs and for the "no-op reconcile writes nothing" check. */
export interface WriteCounts {
  applied: number;
  deleted: number;
}

/** Stable JSON (sorted keys) so equal objects hash equal. */
function stableJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stableJson).join(',')}]`;
  if (typeof v === 'object' && v !== null) {
    const entries = Object.entries(v as Record<string, unknown>)
      .filter(([, x]) => x !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${stableJson(x)}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

/** The desired object with the hash annotation that marks what was applied (pure). */
export function withAppliedHash(desired: KubeObject): KubeObject {
  const hash = createHash('sha256').update(stableJson(desired)).digest('hex').slice(0, 16);
  return {
    ...desired,
    metadata: {
      ...desired.metadata,
      annotations: { ...desired.metadata.annotations, [APPLIED_HASH_ANNOTATION]: hash },
    },
  };
}

/** What `upToDate` reads of a live object. */
export interface LiveObject {
  readonly metadata?: { readonly annotations?: Readonly<Record<string, string>> };
}

/** Whether applying `desired` would change nothing that is ours (pure). */
export function upToDate(desired: KubeObject, live: LiveObject | undefined): boolean {
  if (!live) return false;
  const marked = withAppliedHash(desired);
  return (
    live.metadata?.annotations?.[APPLIED_HASH_ANNOTATION] ===
      marked.metadata.annotations?.[APPLIED_HASH_ANNOTATION] && isSubset(marked, live)
  );
}

export function objectRef(o: { kind?: string; metadata?: { name?: string; namespace?: string } }): string {
  const ns = o.metadata?.namespace;
  return `${o.kind ?? '?'} ${ns ? `${ns}/` : ''}${o.metadata?.name ?? '?'}`;
}

/**
 * Whether resourceVersion `a` is older than `b`. Kubernetes calls them opaque, but the etcd-backed apiserver issues
 * increasing integers (its own watch cache compares them so); anything else counts as "not older".
 */
export function olderVersion(a: string | undefined, b: string): boolean {
  if (a === undefined) return true;
  if (!/^\d+$/.test(a) || !/^\d+$/.test(b)) return false;
  return BigInt(a) < BigInt(b);
}

export class Applier {
  readonly #api: KubernetesObjectApi;
  readonly counts: WriteCounts = { applied: 0, deleted: 0 };
  /**
   * What the apiserver answered to our latest write of each object, until the informer cache has delivered that
   * version (`observed`): a reconcile that runs before the cache caught up (a burst of events) would otherwise
   * apply the same object again. The watch delivers every version in order, so any later change (an edit, a
   * deletion) reaches `observed` after ours and ends the stand-in: drift is still put back.
   */
  readonly #written = new Map<string, { uid: string; resourceVersion: string; object: LiveObject }>();
  readonly #refByUid = new Map<string, string>();

  constructor(kc: KubeConfig) {
    this.#api = KubernetesObjectApi.makeApiClient(kc);
  }

  /** Called with every object the informers deliver (added, updated or deleted). */
  observed(obj: KubernetesObject): void {
    const uid = obj.metadata?.uid;
    const ref = uid === undefined ? undefined : this.#refByUid.get(uid);
    if (ref === undefined || uid === undefined) return;
    const written = this.#written.get(ref);
    if (written && !olderVersion(obj.metadata?.resourceVersion, written.resourceVersion)) {
      this.#written.delete(ref);
      this.#refByUid.delete(uid);
    }
  }

  /** Applies `desired` unless `live` is up to date; returns whether it wrote. */
  async apply(desired: KubeObject, live: LiveObject | undefined): Promise<boolean> {
    const ref = objectRef(desired);
    if (upToDate(desired, this.#written.get(ref)?.object ?? live)) return false;
    const body = withAppliedHash(desired);
    let result: KubernetesObject;
    try {
      result = await this.#api.patch(
        body as KubernetesObject,
        undefined,
        undefined,
        FIELD_MANAGER,
        true,
        PatchStrategy.ServerSideApply,
      );
    } catch (err) {
      throw new Error(`apply ${ref}: ${apiErrorMessage(err)}`, { cause: err });
    }
    const { uid, resourceVersion } = result.metadata ?? {};
    if (uid && resourceVersion) {
      this.#written.set(ref, { uid, resourceVersion, object: result });
      this.#refByUid.set(uid, ref);
    }
    this.counts.applied++;
    return true;
  }

  /** Deletes an object we own; gone already is fine. */
  async delete(obj: KubernetesObject): Promise<void> {
    this.#written.delete(objectRef(obj));
    if (obj.metadata?.uid) this.#refByUid.delete(obj.metadata.uid);
    try {
      await this.#api.delete(obj, undefined, undefined, undefined, undefined, 'Background');
      this.counts.deleted++;
    } catch (err) {
      if (err instanceof ApiException && err.code === 404) return;
      throw new Error(`delete ${objectRef(obj)}: ${apiErrorMessage(err)}`, { cause: err });
    }
  }
}
