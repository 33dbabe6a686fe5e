// Root rotation on a real apiserver and controller-manager, through the control plane's own gRPC port: two control
// planes share one root Secret; a rotation requested on the Mesh adds the new root to the bundle, switches, and
// drops the old one, with a workload lifetime of seconds. A ztunnel (bound token, pod on a node) fetches
// certificates throughout; its config stream, opened before the rotation and trusting only the old root, stays up.
// Then the Mesh is deleted (the garbage collector takes the Secret and the ConfigMap) and made again: the running
// control planes issue from a new root without a restart. Last, a root of the user's own is rotated to the same way.
import type { Mesh } from '@ambit/codegen/crds';
import * as pb from '@ambit/codegen/proto';
import { ConfigSubscription, type Workload } from '@ambit/config';
import { CaClient } from '@ambit/ztunnel';
import { credentials } from '@grpc/grpc-js';
import {
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  PatchStrategy,
  setHeaderOptions,
  Watch,
  type V1Pod,
  type V1Secret,
} from '@kubernetes/client-node';
import { X509Certificate } from 'node:crypto';
import { once } from 'node:events';
import { connect, createServer, type TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createRoot, type PemPair } from '../ca/authority.ts';
import { ROTATE_ROOT_ANNOTATION, type RotationSettings } from '../ca/rotation.ts';
import { CONTROL_PLANE_AUDIENCE } from '../ca/token-review.ts';
import { ROOT_SECRET, TRUST_BUNDLE_CONFIGMAP, TRUST_BUNDLE_KEY } from './root-store.ts';
import { RootKeeper } from './root-keeper.ts';
import { startControlPlane, type RunningControlPlane } from './start.ts';
import { until } from '@ambit/e2e/testing';

const kc = new KubeConfig();
kc.loadFromFile(inject('kubeconfigPath'));
const core = kc.makeApiClient(CoreV1Api);
const custom = kc.makeApiClient(CustomObjectsApi);
const MESHES = { group: 'ambit.dev', version: 'v1alpha1', plural: 'meshes' };
const MESH = 'rotation-int';
const NS = 'ambit-rotation-int'; // where the control plane and its root live
const APPS = 'rotation-int-apps';
const NODE = 'rotation-node-a';
const TLS_NAME = `ambit-control-plane.${NS}.svc`;
const SLEEP = `spiffe://cluster.local/ns/${APPS}/sa/sleep`;
// A workload lifetime of seconds: each overlap lasts 4 s + 1 s.
const SETTINGS: RotationSettings = { rootTtlMs: 1000 * 3600e3, workloadTtlMs: 4_000, settleMs: 1_000 };

async function gone(read: () => Promise<unknown>): Promise<boolean> {
  try {
    await read();
    return false;
  } catch (err) {
    if ((err as { code?: number }).code === 404) return true;
    throw err;
  }
}

async function readMesh(): Promise<Mesh | undefined> {
  try {
    return (await custom.getClusterCustomObject({ ...MESHES, name: MESH })) as Mesh;
  } catch (err) {
    if ((err as { code?: number }).code === 404) return undefined;
    throw err;
  }
}

const createMesh = (spec: Mesh['spec'] = {}) =>
  custom.createClusterCustomObject({
    ...MESHES,
    body: { apiVersion: 'ambit.dev/v1alpha1', kind: 'Mesh', metadata: { name: MESH }, spec },
  });

const patchMesh = (patch: object) =>
  custom.patchClusterCustomObject(
    { ...MESHES, name: MESH, body: patch },
    setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
  );

const bundleConfigMap = async () =>
  (await core.readNamespacedConfigMap({ name: TRUST_BUNDLE_CONFIGMAP, namespace: NS })).data?.[
    TRUST_BUNDLE_KEY
  ];

const rootSecret = () => core.readNamespacedSecret({ name: ROOT_SECRET, namespace: NS });
const phase = async () => (await rootSecret()).metadata?.annotations?.['ambit.dev/root-phase'];

const issuedBy = (certPem: string, rootPem: string) =>
  new X509Certificate(certPem).verify(new X509Certificate(rootPem).publicKey);

function pod(namespace: string, name: string, sa: string): V1Pod {
  return {
    metadata: { name, namespace },
    spec: {
      nodeName: NODE,
      serviceAccountName: sa,
      containers: [{ name: 'c', image: 'example.invalid/none' }],
    },
  };
}

describe('CA root rotation on a real apiserver', { timeout: 180_000 }, () => {
  const logs: string[] = [];
  const log = (l: string) => logs.push(l);
  let pods: V1Pod[] = [];
  let token = '';
  let cpA: RunningControlPlane;
  let cpB: RunningControlPlane;
  const cleanups: (() => unknown)[] = [];

  const start = () =>
    startControlPlane({
      kc,
      mesh: readMesh,
      host: '127.0.0.1',
      port: 0,
      clusterDomain: 'cluster.local',
      pods: () => pods,
      onNack: () => undefined,
      log,
      namespace: NS,
      rotation: { settings: () => SETTINGS, pollMs: 200 },
    });

  /** A ztunnel's channel to one control plane, trusting `roots` as if read from root-cert.pem. */
  const channel = (cp: RunningControlPlane, roots: readonly string[]) => ({
    address: `127.0.0.1:${cp.server.port}`,
    creds: credentials.createSsl(Buffer.from(roots.join(''))),
    options: { 'grpc.ssl_target_name_override': TLS_NAME },
  });
  const caClient = (cp: RunningControlPlane, roots: readonly string[]) => {
    const c = channel(cp, roots);
    const client = new pb.CertificateServiceClient(c.address, c.creds, c.options);
    cleanups.push(() => client.close());
    return new CaClient({ client, token: () => Promise.resolve(token), timeoutMs: 5_000 });
  };

  beforeAll(async () => {
    if (await readMesh()) await custom.deleteClusterCustomObject({ ...MESHES, name: MESH });
    for (const name of [NS, APPS])
      await core.createNamespace({ body: { metadata: { name } } }).catch(() => undefined);
    await core.deleteNamespacedSecret({ name: ROOT_SECRET, namespace: NS }).catch(() => undefined);
    await core
      .deleteNamespacedConfigMap({ name: TRUST_BUNDLE_CONFIGMAP, namespace: NS })
      .catch(() => undefined);
    for (const [ns, sa] of [
      [NS, 'ztunnel'],
      [APPS, 'sleep'],
    ] as const) {
      await core
        .createNamespacedServiceAccount({ namespace: ns, body: { metadata: { name: sa } } })
        .catch(() => undefined);
    }
    const zt = await core.createNamespacedPod({ namespace: NS, body: pod(NS, 'ztunnel-a', 'ztunnel') });
    pods = [zt, await core.createNamespacedPod({ namespace: APPS, body: pod(APPS, 'sleep-a', 'sleep') })];
    token =
      (
        await core.createNamespacedServiceAccountToken({
          name: 'ztunnel',
          namespace: NS,
          body: {
            spec: {
              audiences: [CONTROL_PLANE_AUDIENCE],
              expirationSeconds: 3600,
              boundObjectRef: { kind: 'Pod', apiVersion: 'v1', name: 'ztunnel-a', uid: zt.metadata?.uid },
            },
          },
        })
      ).status?.token ?? '';
    await createMesh();
    [cpA, cpB] = await Promise.all([start(), start()]);
  });

  afterAll(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
    await Promise.all([cpA?.close(), cpB?.close()]);
    await custom.deleteClusterCustomObject({ ...MESHES, name: MESH }).catch(() => undefined);
    for (const [ns, name] of [
      [NS, 'ztunnel-a'],
      [APPS, 'sleep-a'],
    ] as const) {
      await core.deleteNamespacedPod({ name, namespace: ns, gracePeriodSeconds: 0 }).catch(() => undefined);
    }
    for (const name of [NS, APPS]) await core.deleteNamespace({ name }).catch(() => undefined);
  });

  let root0 = '';
  let root1 = '';

  it('starts two control planes on one root, published as the bundle', async () => {
    root0 = await until('the bundle', bundleConfigMap);
    expect(cpA.bundle()).toEqual([root0]);
    expect(cpB.bundle()).toEqual([root0]);
    expect((await rootSecret()).metadata?.ownerReferences?.[0]).toMatchObject({
      kind: 'Mesh',
      uid: (await readMesh())?.metadata.uid,
    });
  });

  it('rotates on request: old and new root in the bundle, then signing with the new one, then the new one alone', async () => {
    // Every version of the Secret, to count the next roots ever written.
    const nextRoots = new Set<string>();
    const watching = await new Watch(kc).watch(
      `/api/v1/namespaces/${NS}/secrets`,
      { fieldSelector: `metadata.name=${ROOT_SECRET}` },
      (_type: string, s: V1Secret) => {
        const next = s.data?.['next.crt'];
        if (next) nextRoots.add(Buffer.from(next, 'base64').toString());
      },
      () => undefined,
    );
    cleanups.push(() => watching.abort());

    // A ztunnel that read root-cert.pem before the rotation: its config stream and its CA channel trust root0 only.
    const subscriptionLog: string[] = [];
    const c = channel(cpA, [root0]);
    const subClient = new pb.ConfigDiscoveryServiceClient(c.address, c.creds, c.options);
    const sub = new ConfigSubscription({
      client: subClient,
      hello: {
        kind: pb.ProxyKind.PROXY_KIND_ZTUNNEL,
        node: NODE,
        waypoint: '',
        gateway: '',
        protocolVersion: 1,
      },
      token: () => Promise.resolve(token),
      onUpdate: () => undefined,
      log: (l) => subscriptionLog.push(l),
      initialBackoffMs: 100,
    });
    cleanups.push(() => {
      sub.stop();
      subClient.close();
    });
    const empty = { workloads: new Map(), services: new Map(), authorizations: new Map() };
    cpA.config.update(empty);
    sub.start();
    await until('the first config', () => Promise.resolve(sub.connected && sub.state.version !== ''));
    const ztunnel = caClient(cpA, [root0]);
    const before = await ztunnel.fetch(SLEEP);
    expect(before.trustBundlePem).toEqual([root0]);
    expect(issuedBy(before.chainPem[0]!, root0)).toBe(true);

    // Requested on the Mesh; both control planes (and three more keepers of the same Secret) act on it at once.
    await patchMesh({ metadata: { annotations: { [ROTATE_ROOT_ANNOTATION]: 'first' } } });
    const extra = [0, 1, 2].map(
      () => new RootKeeper({ kc, namespace: NS, mesh: readMesh, settings: () => SETTINGS, log }),
    );
    await Promise.all([cpA.roots.sync(), cpB.roots.sync(), ...extra.map((k) => k.sync())]);
    expect(await phase()).toBe('adding');
    const bundle = await until('both roots in the bundle', async () => {
      const text = await bundleConfigMap();
      return text !== undefined && text.startsWith(root0) && text.length > root0.length ? text : undefined;
    });
    root1 = bundle.slice(root0.length);
    expect(new X509Certificate(root1).ca).toBe(true);
    await until('both control planes trust both roots', () =>
      Promise.resolve([cpA, cpB].every((cp) => cp.bundle().join('') === root0 + root1)),
    );

    // While adding, certificates are still signed by root0 and carry both roots. Renew as a proxy would until the
    // switch: the last certificate from root0 and the first from root1.
    let lastOld = before;
    let firstNew: typeof before | undefined;
    const addingObserved: unknown[] = [];
    while (!firstNew) {
      const cert = await ztunnel.fetch(SLEEP);
      if (issuedBy(cert.chainPem[0]!, root1)) {
        firstNew = cert;
        break;
      }
      expect(issuedBy(cert.chainPem[0]!, root0)).toBe(true);
      expect(cert.trustBundlePem).toEqual([root0, root1]);
      addingObserved.push(cert);
      lastOld = cert;
      await new Promise((r) => setTimeout(r, 300));
    }
    expect(addingObserved.length).toBeGreaterThan(0);
    expect(await phase()).toBe('switched');
    expect(firstNew.trustBundlePem).toEqual([root0, root1]);
    expect(await bundleConfigMap()).toBe(root0 + root1);
    // The ztunnel still trusts root0 only for the CA channel, and got that certificate through it: the serving
    // certificate, now from root1, reaches root0 through the cross-certificate.
    expect(issuedBy(firstNew.chainPem[0]!, root0)).toBe(false);

    // The certificate issued before the rotation verifies against the bundle after the switch; the last one from
    // root0 and the first from root1 complete a mutual TLS handshake, each side trusting the bundle it was given.
    expect(firstNew.trustBundlePem.some((r) => issuedBy(before.chainPem[0]!, r))).toBe(true);
    await mutualTls(lastOld, firstNew);

    // Both control planes sign with root1; new channels trusting only root1, or only root0, both connect.
    const fromB = await caClient(cpB, [root1]).fetch(SLEEP);
    expect(issuedBy(fromB.chainPem[0]!, root1)).toBe(true);
    expect(issuedBy((await caClient(cpB, [root0]).fetch(SLEEP)).chainPem[0]!, root1)).toBe(true);

    // The config stream opened before the rotation was never dropped, and still gets pushes.
    const version = sub.state.version;
    const w: Workload = {
      uid: 'sleep-a',
      name: 'sleep-a',
      namespace: APPS,
      addresses: ['10.244.7.7'],
      node: NODE,
      serviceAccount: 'sleep',
      trustDomain: 'cluster.local',
      canonicalName: 'sleep',
      canonicalRevision: 'latest',
      workloadName: 'sleep',
      protocol: 'HBONE',
      mtls: { mode: 'PERMISSIVE', ports: {} },
      authorizationPolicies: [],
      ready: true,
      source: { group: '', kind: 'Pod', namespace: APPS, name: 'sleep-a' },
    };
    cpA.config.update({ ...empty, workloads: new Map([[w.uid, w]]) });
    await until('a push after the switch', () => Promise.resolve(sub.state.version !== version));
    expect(sub.connected).toBe(true);
    expect(subscriptionLog.filter((l) => l.includes('disconnected'))).toEqual([]);

    // One workload lifetime later the old root leaves the bundle.
    await until('root1 alone in the bundle', async () => (await bundleConfigMap()) === root1);
    expect(await phase()).toBe('steady');
    await until('both control planes trust root1 alone', () =>
      Promise.resolve([cpA, cpB].every((cp) => cp.bundle().join('') === root1)),
    );
    expect((await ztunnel.fetch(SLEEP)).trustBundlePem).toEqual([root1]);
    expect([...nextRoots]).toEqual([root1]);

    // The request is acted on once: the same value again changes nothing.
    await Promise.all([cpA.roots.sync(), cpB.roots.sync()]);
    expect(await phase()).toBe('steady');
    expect(logs.filter((l) => l.includes('ca root: add'))).toHaveLength(1);
  });

  it('issues from a new root, without a restart, after the Mesh is deleted and made again', async () => {
    const oldUid = (await readMesh())?.metadata.uid;
    await custom.deleteClusterCustomObject({ ...MESHES, name: MESH });
    await until('the Mesh gone', async () => (await readMesh()) === undefined);
    await until(
      'the garbage collector takes the root Secret and the bundle',
      async () =>
        (await gone(rootSecret)) &&
        (await gone(() => core.readNamespacedConfigMap({ name: TRUST_BUNDLE_CONFIGMAP, namespace: NS }))),
      60_000,
    );
    // No Mesh: nothing is made again.
    await new Promise((r) => setTimeout(r, 1_000));
    expect(await gone(rootSecret)).toBe(true);

    await createMesh();
    const uid = (await readMesh())?.metadata.uid;
    expect(uid).not.toBe(oldUid);
    const root2 = await until('a new bundle', bundleConfigMap);
    expect([root0, root1]).not.toContain(root2);
    expect((await rootSecret()).metadata?.ownerReferences?.[0]?.uid).toBe(uid);
    for (const cp of [cpA, cpB]) {
      await until('the control plane serves the new root', () => Promise.resolve(cp.bundle()[0] === root2));
      // A proxy of the new Mesh trusts root2 alone, for the channel and for peers.
      const cert = await caClient(cp, [root2]).fetch(SLEEP);
      expect(issuedBy(cert.chainPem[0]!, root2)).toBe(true);
      expect(cert.trustBundlePem).toEqual([root2]);
    }
  });

  it("rotates to a root of the user's own the same way", async () => {
    const root2 = cpA.bundle()[0] ?? '';
    const user: PemPair = await createRoot({
      trustDomain: 'cluster.local',
      ttlMs: 1000 * 3600e3,
      now: new Date(),
    });
    await core.createNamespacedSecret({
      namespace: NS,
      body: {
        metadata: { name: 'user-root' },
        type: 'kubernetes.io/tls',
        data: {
          'tls.crt': Buffer.from(user.certPem).toString('base64'),
          'tls.key': Buffer.from(user.keyPem).toString('base64'),
        },
      },
    });
    await patchMesh({ spec: { ca: { rootSecret: { name: 'user-root' } } } });
    await until('both roots in the bundle', async () => (await bundleConfigMap()) === root2 + user.certPem);
    expect(issuedBy((await caClient(cpA, [root2]).fetch(SLEEP)).chainPem[0]!, root2)).toBe(true);
    await until('signing with the user root', async () =>
      issuedBy((await caClient(cpA, [root2]).fetch(SLEEP)).chainPem[0]!, user.certPem),
    );
    await until('the user root alone', async () => (await bundleConfigMap()) === user.certPem);
    expect(issuedBy((await caClient(cpB, [user.certPem]).fetch(SLEEP)).chainPem[0]!, user.certPem)).toBe(
      true,
    );
  });
});

/** A TLS 1.3 handshake in which each side presents its certificate and verifies the other's with its bundle. */
async function mutualTls(
  a: { chainPem: readonly string[]; keyPem: string; trustBundlePem: readonly string[] },
  b: { chainPem: readonly string[]; keyPem: string; trustBundlePem: readonly string[] },
): Promise<void> {
  const server = createServer({
    cert: a.chainPem.join(''),
    key: a.keyPem,
    ca: [...a.trustBundlePem],
    requestCert: true,
    rejectUnauthorized: true,
  });
  const serverSaw = new Promise<string>((resolve) =>
    server.on('secureConnection', (s: TLSSocket) => {
      resolve(s.getPeerCertificate().subjectaltname ?? '');
      s.end();
    }),
  );
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  const client = connect({
    cert: b.chainPem.join(''),
    key: b.keyPem,
    ca: [...b.trustBundlePem],
    host: '127.0.0.1',
    port,
    servername: 'peer.test',
    checkServerIdentity: () => undefined,
  });
  try {
    await once(client, 'secureConnect');
    expect(client.authorized).toBe(true);
    expect(await serverSaw).toBe(`URI:${SLEEP}`);
  } finally {
    client.destroy();
    server.close();
  }
}
