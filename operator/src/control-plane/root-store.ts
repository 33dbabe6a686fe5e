// The mesh root: one Secret in ambit-system shared by every replica and never regenerated on restart (DESIGN §8),
// or the user's own (`Mesh.spec.ca.rootSecret`). The trust bundle proxies verify against is published as the
// ConfigMap `ambit-root-ca` (key `root-cert.pem`), which the ztunnel DaemonSet mounts.
import {
  ApiException,
  CoreV1Api,
  PatchStrategy,
  setHeaderOptions,
  type KubeConfig,
  type V1Secret,
} from '@kubernetes/client-node';
import { createRoot, type PemPair } from '../ca/authority.ts';

export const ROOT_SECRET = 'ambit-ca-root';
export const TRUST_BUNDLE_CONFIGMAP = 'ambit-root-ca';
export const TRUST_BUNDLE_KEY = 'root-cert.pem';

/** The Mesh these objects belong to: deleting it removes them with everything else it made (issue 3). */
export interface MeshOwner {
  readonly name: string;
  readonly uid: string;
}

function ownedMetadata(name: string, owner: MeshOwner | undefined) {
  return {
    name,
    labels: {
      'app.kubernetes.io/part-of': 'ambit',
      'app.kubernetes.io/managed-by': 'ambit-operator',
      'ambit.dev/owner-kind': 'Mesh',
    },
    ...(owner
      ? {
          ownerReferences: [
            { apiVersion: 'ambit.dev/v1alpha1', kind: 'Mesh', name: owner.name, uid: owner.uid },
          ],
        }
      : {}),
  };
}

export class RootStoreError extends Error {
  readonly code = 'ERR_ROOT_STORE';
}

function pair(secret: V1Secret, name: string): PemPair {
  const crt = secret.data?.['tls.crt'];
  const key = secret.data?.['tls.key'];
  if (!crt || !key) throw new RootStoreError(`Secret ${name} has no tls.crt and tls.key`);
  return { certPem: Buffer.from(crt, 'base64').toString(), keyPem: Buffer.from(key, 'base64').toString() };
}

async function read(core: CoreV1Api, namespace: string, name: string): Promise<V1Secret | undefined> {
  try {
    return await core.readNamespacedSecret({ namespace, name });
  } catch (err) {
    if (err instanceof ApiException && err.code === 404) return undefined;
    throw err;
  }
}

/**
 * The root to sign with: the user's Secret when named; else ours, created on first start. Two replicas racing to
 * create it: the loser's create fails with 409 and it reads the winner's, so both sign with the same root.
 */
export async function ensureRoot(
  kc: KubeConfig,
  o: {
    namespace: string;
    userSecret?: string;
    trustDomain: string;
    ttlMs: number;
    now: Date;
    owner?: MeshOwner;
  },
): Promise<PemPair> {
  const core = kc.makeApiClient(CoreV1Api);
  if (o.userSecret) {
    const s = await read(core, o.namespace, o.userSecret);
    if (!s) throw new RootStoreError(`Secret ${o.namespace}/${o.userSecret} (spec.ca.rootSecret) not found`);
    return pair(s, `${o.namespace}/${o.userSecret}`);
  }
  const existing = await read(core, o.namespace, ROOT_SECRET);
  if (existing) return pair(existing, `${o.namespace}/${ROOT_SECRET}`);
  const root = await createRoot({ trustDomain: o.trustDomain, ttlMs: o.ttlMs, now: o.now });
  try {
    await core.createNamespacedSecret({
      namespace: o.namespace,
      body: {
        metadata: ownedMetadata(ROOT_SECRET, o.owner),
        type: 'kubernetes.io/tls',
        data: {
          'tls.crt': Buffer.from(root.certPem).toString('base64'),
          'tls.key': Buffer.from(root.keyPem).toString('base64'),
        },
      },
    });
    return root;
  } catch (err) {
    if (!(err instanceof ApiException && err.code === 409)) throw err;
    const winner = await read(core, o.namespace, ROOT_SECRET);
    if (!winner)
      throw new RootStoreError(`Secret ${o.namespace}/${ROOT_SECRET} vanished while being created`);
    return pair(winner, `${o.namespace}/${ROOT_SECRET}`);
  }
}

/** Publishes the trust bundle (server-side apply, only our key). */
export async function publishTrustBundle(
  kc: KubeConfig,
  namespace: string,
  roots: readonly string[],
  owner?: MeshOwner,
): Promise<void> {
  await kc.makeApiClient(CoreV1Api).patchNamespacedConfigMap(
    {
      namespace,
      name: TRUST_BUNDLE_CONFIGMAP,
      body: {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { ...ownedMetadata(TRUST_BUNDLE_CONFIGMAP, owner), namespace },
        data: { [TRUST_BUNDLE_KEY]: roots.join('') },
      },
      fieldManager: 'ambit-ca',
      force: true,
    },
    setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply),
  );
}
