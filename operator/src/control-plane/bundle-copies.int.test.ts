// The trust bundle's copies on a real apiserver and controller-manager: two keepers (as two replicas) following
// Gateways through an informer, as main.ts wires them. A waypoint's namespace gets `ambit-root-ca` with the bundle;
// the copy follows a rotation; it goes with the last Gateway of ours there; a ConfigMap of that name that someone
// else made is neither overwritten nor deleted, only reported; deleting the Mesh has the garbage collector take the
// copies.
import type { Gateway, Mesh } from '@ambit/codegen/crds';
import {
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  PatchStrategy,
  setHeaderOptions,
  type KubernetesListObject,
  type KubernetesObject,
  type V1ConfigMap,
} from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { until } from '@ambit/e2e/testing';
import { ROTATE_ROOT_ANNOTATION, type RotationSettings } from '../ca/rotation.ts';
import { informer, type Started } from '../engine/caches.ts';
import { RootKeeper } from './root-keeper.ts';
import { TRUST_BUNDLE_CONFIGMAP, TRUST_BUNDLE_KEY } from './root-store.ts';

const kc = new KubeConfig();
kc.loadFromFile(inject('kubeconfigPath'));
const core = kc.makeApiClient(CoreV1Api);
const custom = kc.makeApiClient(CustomObjectsApi);
const MESHES = { group: 'ambit.dev', version: 'v1alpha1', plural: 'meshes' };
const GATEWAYS = { group: 'gateway.networking.k8s.io', version: 'v1', plural: 'gateways' };
const MESH = 'bundle-copies-int';
const HOME = 'ambit-copies-int'; // the keepers' namespace: root Secret and the original bundle
const APPS = 'copies-int-apps'; // gets a waypoint
const THEIRS = 'copies-int-theirs'; // holds an ambit-root-ca of someone else's
const SETTINGS: RotationSettings = { rootTtlMs: 1000 * 3600e3, workloadTtlMs: 3_000, settleMs: 1_000 };

async function readMesh(): Promise<Mesh | undefined> {
  try {
    return (await custom.getClusterCustomObject({ ...MESHES, name: MESH })) as Mesh;
  } catch (err) {
    if ((err as { code?: number }).code === 404) return undefined;
    throw err;
  }
}

async function readBundle(namespace: string): Promise<V1ConfigMap | undefined> {
  try {
    return await core.readNamespacedConfigMap({ name: TRUST_BUNDLE_CONFIGMAP, namespace });
  } catch (err) {
    if ((err as { code?: number }).code === 404) return undefined;
    throw err;
  }
}

const bundleIn = async (namespace: string) => (await readBundle(namespace))?.data?.[TRUST_BUNDLE_KEY];

const gateway = (namespace: string, name: string, gatewayClassName: string): Gateway => ({
  apiVersion: 'gateway.networking.k8s.io/v1',
  kind: 'Gateway',
  metadata: { name, namespace },
  spec: { gatewayClassName, listeners: [{ name: 'mesh', port: 15008, protocol: 'HBONE' }] },
});

const createGateway = (g: Gateway) =>
  custom.createNamespacedCustomObject({ ...GATEWAYS, namespace: g.metadata.namespace ?? '', body: g });
const deleteGateway = (namespace: string, name: string) =>
  custom.deleteNamespacedCustomObject({ ...GATEWAYS, namespace, name });

/** A few keeper passes (poll 200 ms) in which something must not happen. */
const passes = () => new Promise((r) => setTimeout(r, 1_500));

describe('trust bundle copies in the namespaces of Gateways', { timeout: 120_000 }, () => {
  const logs: string[] = [];
  let gateways: Started<Gateway & KubernetesObject>;
  let keepers: RootKeeper[] = [];

  beforeAll(async () => {
    if (await readMesh()) await custom.deleteClusterCustomObject({ ...MESHES, name: MESH });
    for (const name of [HOME, APPS, THEIRS])
      await core.createNamespace({ body: { metadata: { name } } }).catch(() => undefined);
    await custom.createClusterCustomObject({
      ...MESHES,
      body: { apiVersion: 'ambit.dev/v1alpha1', kind: 'Mesh', metadata: { name: MESH }, spec: {} },
    });
    gateways = informer<Gateway & KubernetesObject>(
      kc,
      '/apis/gateway.networking.k8s.io/v1/gateways',
      async () =>
        (await custom.listClusterCustomObject(GATEWAYS)) as KubernetesListObject<Gateway & KubernetesObject>,
      () => undefined,
      () => undefined,
    );
    await gateways.start();
    keepers = [0, 1].map(
      () =>
        new RootKeeper({
          kc,
          namespace: HOME,
          mesh: readMesh,
          gateways: () => gateways.list(),
          settings: () => SETTINGS,
          pollMs: 200,
          log: (l) => logs.push(l),
        }),
    );
    await Promise.all(keepers.map((k) => k.start()));
  });

  afterAll(async () => {
    for (const k of keepers) k.stop();
    await gateways?.stop();
    await custom.deleteClusterCustomObject({ ...MESHES, name: MESH }).catch(() => undefined);
    for (const name of [HOME, APPS, THEIRS]) await core.deleteNamespace({ name }).catch(() => undefined);
  });

  it('publishes the bundle in a namespace once a waypoint Gateway is there, owned by the Mesh', async () => {
    const home = await until('the bundle in the home namespace', () => bundleIn(HOME));
    expect(await readBundle(APPS)).toBeUndefined();
    await createGateway(gateway(APPS, 'waypoint', 'istio-waypoint'));
    const copy = await until('the copy', () => readBundle(APPS));
    expect(copy.data).toEqual({ [TRUST_BUNDLE_KEY]: home });
    expect(copy.metadata?.labels).toMatchObject({
      'app.kubernetes.io/managed-by': 'ambit-operator',
      'ambit.dev/owner-kind': 'Mesh',
    });
    expect(copy.metadata?.ownerReferences).toEqual([
      expect.objectContaining({ kind: 'Mesh', name: MESH, uid: (await readMesh())?.metadata.uid }),
    ]);
    // Two keepers, one copy, written once: the other's create met a 409 (or found it in place).
    await passes();
    expect((await readBundle(APPS))?.metadata?.resourceVersion).toBe(copy.metadata?.resourceVersion);
    expect(logs.filter((l) => l === `ca root: trust bundle copy created in ${APPS}`)).toHaveLength(1);
  });

  it('keeps the copy equal to the bundle through a rotation', async () => {
    const root0 = (await bundleIn(HOME)) ?? '';
    await custom.patchClusterCustomObject(
      { ...MESHES, name: MESH, body: { metadata: { annotations: { [ROTATE_ROOT_ANNOTATION]: 'copies' } } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    // Adding: the new root joins the bundle, and the copy with it.
    const both = await until('two roots in the bundle', async () => {
      const b = await bundleIn(HOME);
      return b !== undefined && b.startsWith(root0) && b.length > root0.length ? b : undefined;
    });
    await until('the copy holds both roots', async () => (await bundleIn(APPS)) === both);
    // Finished: the new root alone, here and in the copy.
    const root1 = both.slice(root0.length);
    await until('the new root alone', async () => (await bundleIn(HOME)) === root1, 30_000);
    await until('the copy holds the new root alone', async () => (await bundleIn(APPS)) === root1);
  });

  it("leaves a ConfigMap of that name that is not the operator's alone, and says so", async () => {
    await core.createNamespacedConfigMap({
      namespace: THEIRS,
      body: { metadata: { name: TRUST_BUNDLE_CONFIGMAP }, data: { [TRUST_BUNDLE_KEY]: 'not ours\n' } },
    });
    await createGateway(gateway(THEIRS, 'ingress', 'ambit'));
    const line = `ca root: ConfigMap ${THEIRS}/${TRUST_BUNDLE_CONFIGMAP} was not made by the operator`;
    await until('the report', () => Promise.resolve(logs.some((l) => l.startsWith(line))));
    await passes();
    expect((await readBundle(THEIRS))?.data).toEqual({ [TRUST_BUNDLE_KEY]: 'not ours\n' });
    // Once per keeper, not every pass.
    expect(logs.filter((l) => l.startsWith(line))).toHaveLength(2);
    // Its Gateway gone, it stays.
    await deleteGateway(THEIRS, 'ingress');
    await until('the informer without the Gateway', () =>
      Promise.resolve(gateways.list(THEIRS).length === 0),
    );
    await passes();
    expect((await readBundle(THEIRS))?.data).toEqual({ [TRUST_BUNDLE_KEY]: 'not ours\n' });
  });

  it('removes the copy with the last Gateway of ours in the namespace, not before', async () => {
    await createGateway(gateway(APPS, 'ingress', 'istio'));
    await createGateway(gateway(APPS, 'other', 'someone-elses'));
    await until('the informer with both', () => Promise.resolve(gateways.list(APPS).length === 3));
    await deleteGateway(APPS, 'waypoint');
    await until('the informer without the waypoint', () => Promise.resolve(gateways.list(APPS).length === 2));
    await passes();
    expect(await bundleIn(APPS)).toBe(await bundleIn(HOME));
    await deleteGateway(APPS, 'ingress');
    await until('the copy gone', async () => (await readBundle(APPS)) === undefined);
    await passes();
    expect(await readBundle(APPS)).toBeUndefined();
    expect(logs.filter((l) => l === `ca root: trust bundle copy deleted in ${APPS}`)).toHaveLength(1);
  });

  it('lets the garbage collector take the copies with the Mesh', async () => {
    await createGateway(gateway(APPS, 'waypoint', 'ambit-waypoint'));
    await until('the copy again', () => readBundle(APPS));
    await custom.deleteClusterCustomObject({ ...MESHES, name: MESH });
    await until(
      'the copy and the original collected',
      async () => (await readBundle(APPS)) === undefined && (await readBundle(HOME)) === undefined,
      60_000,
    );
    // No Mesh: nothing is made again, and what was not ours is still there.
    await passes();
    expect(await readBundle(APPS)).toBeUndefined();
    expect((await readBundle(THEIRS))?.data).toEqual({ [TRUST_BUNDLE_KEY]: 'not ours\n' });
  });
});
