// The mesh root on the cluster: one Secret in ambit-system (`ambit-ca-root`) shared by every replica and never
// regenerated on restart (DESIGN §8), holding the rotation state (ca/rotation.ts); with a root of the user's own
// (`Mesh.spec.ca.rootSecret`) it holds the copy that signs, so the previous key keeps signing while a new one of the
// user's is being added. The trust bundle proxies verify against is published as the ConfigMap `ambit-root-ca` (key
// `root-cert.pem`, every root in force), which the proxies mount; a projected volume reads a ConfigMap of the pod's
// own namespace only, so a copy goes into every namespace that runs a waypoint or gateway (bundle-copies.ts).
//
// Secret layout: `tls.crt`/`tls.key` the signing root (so a Secret from before rotation existed reads as steady),
// `cross.crt` it certified by the root before it, `next.crt`/`next.key`/`next-cross.crt` while adding,
// `previous.crt` while switched; annotations for the phase, when it began, and the last rotation request acted on.
import {
  ApiException,
  type CoreV1Api,
  type V1ConfigMap,
  type V1ObjectMeta,
  type V1Secret,
} from '@kubernetes/client-node';
import type { PemPair } from '../ca/authority.ts';
import { phaseOf, type RootState } from '../ca/rotation.ts';
import type { BundleCopyWrite } from './bundle-copies.ts';

export const ROOT_SECRET = 'ambit-ca-root';
export const TRUST_BUNDLE_CONFIGMAP = 'ambit-root-ca';
export const TRUST_BUNDLE_KEY = 'root-cert.pem';
export const PHASE_ANNOTATION = 'ambit.dev/root-phase';
export const PHASE_SINCE_ANNOTATION = 'ambit.dev/root-phase-since';
export const HANDLED_REQUEST_ANNOTATION = 'ambit.dev/rotate-root-handled';

/** The Mesh these objects belong to: deleting it removes them with everything else it made (issue 3). */
export interface MeshOwner {
  readonly name: string;
  readonly uid: string;
}

export function ownerReferences(owner: MeshOwner | undefined) {
  return owner ? [{ apiVersion: 'ambit.dev/v1alpha1', kind: 'Mesh', name: owner.name, uid: owner.uid }] : [];
}

export function ownedMetadata(name: string, namespace: string, owner: MeshOwner | undefined): V1ObjectMeta {
  return {
    name,
    namespace,
    labels: {
      'app.kubernetes.io/part-of': 'ambit',
      'app.kubernetes.io/managed-by': 'ambit-operator',
      'ambit.dev/owner-kind': 'Mesh',
    },
    ...(owner ? { ownerReferences: ownerReferences(owner) } : {}),
  };
}

export class RootStoreError extends Error {
  readonly code = 'ERR_ROOT_STORE';
}

function b64(text: string): string {
  return Buffer.from(text).toString('base64');
}

function text(data: Record<string, string> | undefined, key: string): string | undefined {
  const v = data?.[key];
  return v === undefined ? undefined : Buffer.from(v, 'base64').toString();
}

/** The Secret's data and annotations for a state. */
export function encodeRootState(s: RootState): {
  data: Record<string, string>;
  annotations: Record<string, string>;
} {
  const data: Record<string, string> = {
    'tls.crt': b64(s.current.certPem),
    'tls.key': b64(s.current.keyPem),
  };
  if (s.cross !== undefined) data['cross.crt'] = b64(s.cross);
  if (s.next) {
    data['next.crt'] = b64(s.next.certPem);
    data['next.key'] = b64(s.next.keyPem);
  }
  if (s.nextCross !== undefined) data['next-cross.crt'] = b64(s.nextCross);
  if (s.previous !== undefined) data['previous.crt'] = b64(s.previous);
  return {
    data,
    annotations: {
      [PHASE_ANNOTATION]: phaseOf(s),
      [PHASE_SINCE_ANNOTATION]: new Date(s.since).toISOString(),
      ...(s.handledRequest !== undefined ? { [HANDLED_REQUEST_ANNOTATION]: s.handledRequest } : {}),
    },
  };
}

/** The state a Secret holds; one written before rotation existed (only `tls.crt`/`tls.key`) is steady. */
export function decodeRootState(secret: V1Secret): RootState {
  const name = `${secret.metadata?.namespace ?? ''}/${secret.metadata?.name ?? ''}`;
  const data = secret.data;
  const current = pemPair(data, 'tls.crt', 'tls.key');
  if (!current) throw new RootStoreError(`Secret ${name} has no tls.crt and tls.key`);
  const next = pemPair(data, 'next.crt', 'next.key');
  const previous = text(data, 'previous.crt');
  if (next && previous !== undefined)
    throw new RootStoreError(`Secret ${name} holds both a next and a previous root`);
  const annotations = secret.metadata?.annotations ?? {};
  const sinceText = annotations[PHASE_SINCE_ANNOTATION];
  const since = sinceText ? Date.parse(sinceText) : 0;
  if (Number.isNaN(since))
    throw new RootStoreError(`Secret ${name}: ${PHASE_SINCE_ANNOTATION} is not a time: ${sinceText ?? ''}`);
  const cross = text(data, 'cross.crt');
  const nextCross = text(data, 'next-cross.crt');
  const handledRequest = annotations[HANDLED_REQUEST_ANNOTATION];
  return {
    current,
    ...(cross !== undefined ? { cross } : {}),
    ...(next ? { next } : {}),
    ...(next && nextCross !== undefined ? { nextCross } : {}),
    ...(previous !== undefined ? { previous } : {}),
    since,
    ...(handledRequest !== undefined ? { handledRequest } : {}),
  };
}

function pemPair(data: Record<string, string> | undefined, crt: string, key: string): PemPair | undefined {
  const certPem = text(data, crt);
  const keyPem = text(data, key);
  return certPem && keyPem ? { certPem, keyPem } : undefined;
}

export function isApiError(err: unknown, code: number): boolean {
  return err instanceof ApiException && err.code === code;
}

async function orUndefined<T>(read: Promise<T>): Promise<T | undefined> {
  try {
    return await read;
  } catch (err) {
    if (isApiError(err, 404)) return undefined;
    throw err;
  }
}

export function readSecret(core: CoreV1Api, namespace: string, name: string): Promise<V1Secret | undefined> {
  return orUndefined(core.readNamespacedSecret({ namespace, name }));
}

/** The user's root (`spec.ca.rootSecret`): `tls.crt` and `tls.key`. */
export async function readUserRoot(core: CoreV1Api, namespace: string, name: string): Promise<PemPair> {
  const s = await readSecret(core, namespace, name);
  if (!s) throw new RootStoreError(`Secret ${namespace}/${name} (spec.ca.rootSecret) not found`);
  const pair = pemPair(s.data, 'tls.crt', 'tls.key');
  if (!pair) throw new RootStoreError(`Secret ${namespace}/${name} has no tls.crt and tls.key`);
  return pair;
}

/**
 * Writes a state: creates the Secret when `live` is undefined, else replaces it under `live`'s resourceVersion.
 * Either fails with an ApiException 409 when another replica wrote first; the caller re-reads.
 */
export async function writeRootState(
  core: CoreV1Api,
  namespace: string,
  live: V1Secret | undefined,
  state: RootState,
  owner: MeshOwner | undefined,
): Promise<V1Secret> {
  const { data, annotations } = encodeRootState(state);
  if (!live) {
    return core.createNamespacedSecret({
      namespace,
      body: {
        metadata: { ...ownedMetadata(ROOT_SECRET, namespace, owner), annotations },
        type: 'kubernetes.io/tls',
        data,
      },
    });
  }
  const kept = Object.fromEntries(
    Object.entries(live.metadata?.annotations ?? {}).filter(
      ([k]) => ![PHASE_ANNOTATION, PHASE_SINCE_ANNOTATION, HANDLED_REQUEST_ANNOTATION].includes(k),
    ),
  );
  return core.replaceNamespacedSecret({
    namespace,
    name: ROOT_SECRET,
    body: {
      ...live,
      metadata: { ...live.metadata, annotations: { ...kept, ...annotations } },
      data,
    },
  });
}

export type BundleWrite = 'unchanged' | 'created' | 'updated' | 'conflict';

/**
 * Makes the ConfigMap hold `roots` (concatenated PEM), owned by `owner`. Replaced under the resourceVersion it was
 * read at: of two replicas publishing different bundles, a stale one fails and the next pass (which re-reads the
 * Secret first) puts the right bundle back.
 */
export async function publishTrustBundle(
  core: CoreV1Api,
  namespace: string,
  roots: readonly string[],
  owner: MeshOwner | undefined,
): Promise<BundleWrite> {
  const live = await orUndefined(core.readNamespacedConfigMap({ namespace, name: TRUST_BUNDLE_CONFIGMAP }));
  const wanted = roots.join('');
  const owners = ownerReferences(owner);
  const liveOwners = live?.metadata?.ownerReferences ?? [];
  const sameOwner =
    !owner || (liveOwners.length === 1 && liveOwners[0]?.uid === owner.uid && liveOwners[0].kind === 'Mesh');
  if (live && live.data?.[TRUST_BUNDLE_KEY] === wanted && sameOwner) return 'unchanged';
  try {
    if (!live) {
      const body: V1ConfigMap = {
        metadata: ownedMetadata(TRUST_BUNDLE_CONFIGMAP, namespace, owner),
        data: { [TRUST_BUNDLE_KEY]: wanted },
      };
      await core.createNamespacedConfigMap({ namespace, body });
      return 'created';
    }
    await core.replaceNamespacedConfigMap({
      namespace,
      name: TRUST_BUNDLE_CONFIGMAP,
      body: {
        ...live,
        metadata: { ...live.metadata, ...(owner ? { ownerReferences: owners } : {}) },
        data: { ...live.data, [TRUST_BUNDLE_KEY]: wanted },
      },
    });
    return 'updated';
  } catch (err) {
    if (isApiError(err, 409)) return 'conflict';
    throw err;
  }
}

/**
 * Every ConfigMap named TRUST_BUNDLE_CONFIGMAP in the cluster, ours or not, from the apiserver's watch cache
 * (`resourceVersion: 0`: each replica lists every pass, and etcd is not read for it). The cache may lag; every
 * write made from it carries a precondition, so a stale entry costs a 409 and the next pass.
 */
export async function listTrustBundles(core: CoreV1Api): Promise<V1ConfigMap[]> {
  const list = await core.listConfigMapForAllNamespaces({
    fieldSelector: `metadata.name=${TRUST_BUNDLE_CONFIGMAP}`,
    resourceVersion: '0',
  });
  return list.items;
}

/**
 * Carries out one step of a copies plan. `conflict`: another replica (or a user) changed the object since it was
 * listed (create: it exists; update: its resourceVersion moved; delete: that too, or it is gone already), so this
 * write did nothing; the next pass plans again from what is there.
 */
export async function writeBundleCopy(core: CoreV1Api, step: BundleCopyWrite): Promise<'done' | 'conflict'> {
  const { namespace } = step;
  try {
    if (step.kind === 'create') await core.createNamespacedConfigMap({ namespace, body: step.body });
    else if (step.kind === 'update')
      await core.replaceNamespacedConfigMap({ namespace, name: TRUST_BUNDLE_CONFIGMAP, body: step.body });
    else
      await core.deleteNamespacedConfigMap({
        namespace,
        name: TRUST_BUNDLE_CONFIGMAP,
        body: { preconditions: { resourceVersion: step.resourceVersion } },
      });
    return 'done';
  } catch (err) {
    if (isApiError(err, 409)) return 'conflict';
    if (step.kind === 'delete' && isApiError(err, 404)) return 'conflict';
    throw err;
  }
}
