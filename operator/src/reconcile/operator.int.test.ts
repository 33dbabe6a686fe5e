// The operator against the real apiserver and controller-manager: apply a Mesh and see every rendered object,
// roll a spec change, reconcile again with zero writes, provision and refuse waypoints, report an invalid Mesh,
// hand over between two replicas, and delete the Mesh leaving nothing behind.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { Gateway, Mesh } from '@ambit/codegen/crds';
import {
  AppsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  KubernetesObjectApi,
} from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { MANAGED_BY, MANAGED_BY_LABEL, type KubeObject } from '../render/contract.ts';
import { renderMesh } from '../render/mesh.ts';
import { RELEASE_FACTS } from '../render/release.ts';
import { renderIngressGateway } from '../render/ingress-gateway.ts';
import { renderWaypoint } from '../render/waypoint.ts';
import { Operator } from './operator.ts';
import { isSubset } from './subset.ts';
import { until } from '@ambit/e2e/testing';

const kubeconfigPath = inject('kubeconfigPath');
const kc = new KubeConfig();
kc.loadFromFile(kubeconfigPath);
const core = kc.makeApiClient(CoreV1Api);
const apps = kc.makeApiClient(AppsV1Api);
const custom = kc.makeApiClient(CustomObjectsApi);
const objects = KubernetesObjectApi.makeApiClient(kc);
const MESHES = { group: 'ambit.dev', version: 'v1alpha1', plural: 'meshes' };
const GATEWAYS = { group: 'gateway.networking.k8s.io', version: 'v1', plural: 'gateways' };

const getMesh = async (name = 'default') =>
  (await custom.getClusterCustomObject({ ...MESHES, name })) as Mesh;
const condition = (
  m: { status?: { conditions?: { type: string; status: string; reason: string; message: string }[] } },
  type: string,
) => m.status?.conditions?.find((c) => c.type === type);

function startOperator(identity: string): Operator {
  const op = new Operator({
    kc,
    identity,
    facts: RELEASE_FACTS,
    renderMesh,
    renderWaypoint,
    renderIngress: renderIngressGateway,
    lease: { durationMs: 2_000, renewEveryMs: 300, renewDeadlineMs: 1_500, retryEveryMs: 200 },
    log: () => undefined,
  });
  return op;
}

/** Every object with the operator's label, of every kind it applies. */
async function managedObjects(): Promise<string[]> {
  const kinds = [
    ['v1', 'ServiceAccount'],
    ['v1', 'Service'],
    ['apps/v1', 'DaemonSet'],
    ['apps/v1', 'Deployment'],
    ['policy/v1', 'PodDisruptionBudget'],
    ['rbac.authorization.k8s.io/v1', 'ClusterRole'],
    ['rbac.authorization.k8s.io/v1', 'ClusterRoleBinding'],
    ['gateway.networking.k8s.io/v1', 'GatewayClass'],
  ] as const;
  const out: string[] = [];
  for (const [apiVersion, kind] of kinds) {
    const list = await objects.list(
      apiVersion,
      kind,
      undefined,
      undefined,
      undefined,
      undefined,
      undefined,
      `${MANAGED_BY_LABEL}=${MANAGED_BY}`,
    );
    for (const o of list.items) out.push(`${kind} ${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`);
  }
  return out;
}

function gateway(namespace: string, name = 'waypoint'): Gateway {
  return {
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'Gateway',
    metadata: { name, namespace },
    spec: {
      gatewayClassName: 'istio-waypoint',
      listeners: [{ name: 'mesh', port: 15008, protocol: 'HBONE' }],
    },
  };
}

describe('Operator', { timeout: 120_000 }, () => {
  const a = startOperator('replica-a');
  const b = startOperator('replica-b');
  const leader = () => (a.isLeader() ? a : b.isLeader() ? b : undefined);

  beforeAll(async () => {
    for (const name of ['ambit-system', 'wp-allowed', 'wp-refused']) {
      await core.createNamespace({
        body: { metadata: { name, labels: name === 'wp-allowed' ? { waypoints: 'yes' } : {} } },
      });
    }
    await Promise.all([a.start(), b.start()]);
  });

  afterAll(async () => {
    await Promise.all([a.stop(), b.stop()]);
    for (const name of ['ambit-system', 'wp-allowed', 'wp-refused'])
      await core.deleteNamespace({ name }).catch(() => undefined);
  });

  it('applies the rendered objects of a new Mesh and reports it Ready', async () => {
    await custom.createClusterCustomObject({
      ...MESHES,
      body: { apiVersion: 'ambit.dev/v1alpha1', kind: 'Mesh', metadata: { name: 'default' }, spec: {} },
    });
    const mesh = await until('Mesh Ready', async () => {
      const m = await getMesh();
      return condition(m, 'Ready')?.status === 'True' && m;
    });
    const desired: KubeObject[] = renderMesh(mesh, RELEASE_FACTS);
    expect(desired.map((o) => o.kind)).toEqual(
      expect.arrayContaining(['DaemonSet', 'ClusterRole', 'GatewayClass']),
    );
    for (const o of desired) {
      const live = await objects.read({
        apiVersion: o.apiVersion,
        kind: o.kind,
        metadata: {
          name: o.metadata.name,
          ...(o.metadata.namespace ? { namespace: o.metadata.namespace } : {}),
        },
      });
      expect(
        isSubset({ ...o, metadata: { ...o.metadata, ownerReferences: undefined } }, live),
        `${o.kind} ${o.metadata.name}`,
      ).toBe(true);
    }
    expect(mesh.metadata.finalizers).toContain('ambit.dev/cleanup');
    expect(condition(mesh, 'Progressing')?.status).toBe('False');
    expect(condition(mesh, 'Degraded')?.status).toBe('False');
    const gc = (await custom.getClusterCustomObject({
      group: 'gateway.networking.k8s.io',
      version: 'v1',
      plural: 'gatewayclasses',
      name: 'ambit-waypoint',
    })) as { status?: { conditions?: { type: string; status: string }[] } };
    expect(gc.status?.conditions?.find((c) => c.type === 'Accepted')?.status).toBe('True');

    const { stdout } = await promisify(execFile)('kubectl', ['--kubeconfig', kubeconfigPath, 'get', 'mesh'], {
      encoding: 'utf8',
    });
    expect(stdout.split('\n')[0]?.split(/\s+/)).toEqual([
      'NAME',
      'READY',
      'PROGRESSING',
      'ZTUNNELS',
      'WAYPOINTS',
      'WORKLOADS',
      'AGE',
    ]);
    expect(stdout).toMatch(/^default\s+True\s+False\s+\d+\/\d+\s+0\/0\s/m);
  });

  it('lets only the lease holder write', () => {
    const l = leader();
    expect(l).toBeDefined();
    const follower = l === a ? b : a;
    expect(follower.applier.counts).toEqual({ applied: 0, deleted: 0 });
    expect(l?.applier.counts.applied).toBeGreaterThan(0);
  });

  it('issues zero writes when reconciling again with nothing changed', async () => {
    const l = leader()!;
    await l.idle();
    const before = { ...l.applier.counts };
    const rv = (await getMesh()).metadata.resourceVersion;
    await l.meshReconciler.reconcile('default');
    await l.idle();
    expect(l.applier.counts).toEqual(before);
    expect((await getMesh()).metadata.resourceVersion).toBe(rv);
  });

  it('rolls a spec change (image, log level) into the DaemonSet', async () => {
    await custom.patchClusterCustomObject(
      {
        ...MESHES,
        name: 'default',
        body: [
          {
            op: 'add',
            path: '/spec/ztunnel',
            value: { image: 'example.test/ztunnel:v2', logLevel: 'debug' },
          },
        ],
      },
      { headers: { 'Content-Type': 'application/json-patch+json' } } as never,
    );
    const ds = await until('ztunnel DaemonSet with the new image', async () => {
      const d = await apps.readNamespacedDaemonSet({ name: 'ztunnel', namespace: 'ambit-system' });
      return d.spec?.template.spec?.containers[0]?.image === 'example.test/ztunnel:v2' && d;
    });
    expect(ds.spec?.template.spec?.containers[0]?.env).toContainEqual({ name: 'LOG_LEVEL', value: 'debug' });
  });

  it('puts back a rendered field someone edited by hand', async () => {
    await core.patchNamespacedServiceAccount(
      {
        name: 'ztunnel',
        namespace: 'ambit-system',
        body: [{ op: 'replace', path: '/automountServiceAccountToken', value: true }],
      },
      { headers: { 'Content-Type': 'application/json-patch+json' } } as never,
    );
    await until('drift corrected', async () => {
      const sa = await core.readNamespacedServiceAccount({ name: 'ztunnel', namespace: 'ambit-system' });
      return sa.automountServiceAccountToken === false;
    });
  });

  it('provisions a waypoint in an allowed namespace and refuses one elsewhere, naming the Mesh field', async () => {
    await custom.patchClusterCustomObject(
      {
        ...MESHES,
        name: 'default',
        body: [
          {
            op: 'add',
            path: '/spec/waypoints',
            value: { allowedNamespaces: { selector: { matchLabels: { waypoints: 'yes' } } } },
          },
        ],
      },
      { headers: { 'Content-Type': 'application/json-patch+json' } } as never,
    );
    for (const ns of ['wp-allowed', 'wp-refused']) {
      await custom.createNamespacedCustomObject({ ...GATEWAYS, namespace: ns, body: gateway(ns) });
    }
    const programmed = await until('allowed waypoint Programmed', async () => {
      const g = (await custom.getNamespacedCustomObject({
        ...GATEWAYS,
        namespace: 'wp-allowed',
        name: 'waypoint',
      })) as Gateway;
      return condition(g, 'Programmed')?.status === 'True' && g;
    });
    const svc = await core.readNamespacedService({ name: 'waypoint', namespace: 'wp-allowed' });
    expect(programmed.status?.addresses?.[0]).toEqual({ type: 'IPAddress', value: svc.spec?.clusterIP });
    await apps.readNamespacedDeployment({ name: 'waypoint', namespace: 'wp-allowed' });
    await core.readNamespacedServiceAccount({ name: 'waypoint', namespace: 'wp-allowed' });

    const refused = await until('refused waypoint condition', async () => {
      const g = (await custom.getNamespacedCustomObject({
        ...GATEWAYS,
        namespace: 'wp-refused',
        name: 'waypoint',
      })) as Gateway;
      return condition(g, 'Accepted')?.status === 'False' && g;
    });
    expect(condition(refused as never, 'Accepted')?.message).toContain('spec.waypoints.allowedNamespaces');
    expect(condition(refused as never, 'Programmed')?.status).toBe('False');
    expect((await managedObjects()).filter((o) => o.includes('wp-refused/'))).toEqual([]);
    await until('Mesh counts the waypoint', async () => (await getMesh()).status?.waypoints?.total === 1);
  });

  it('provisions an ingress Gateway of class istio as <gateway>-istio, Programmed once its Service has an address', async () => {
    const ingress = (name: string, annotations?: Record<string, string>): Gateway => ({
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'Gateway',
      metadata: { name, namespace: 'wp-allowed', ...(annotations ? { annotations } : {}) },
      spec: { gatewayClassName: 'istio', listeners: [{ name: 'http', port: 80, protocol: 'HTTP' }] },
    });
    await custom.createNamespacedCustomObject({
      ...GATEWAYS,
      namespace: 'wp-allowed',
      body: ingress('internal', { 'networking.istio.io/service-type': 'ClusterIP' }),
    });
    await custom.createNamespacedCustomObject({
      ...GATEWAYS,
      namespace: 'wp-allowed',
      body: ingress('public'),
    });
    const read = async (name: string) =>
      (await custom.getNamespacedCustomObject({ ...GATEWAYS, namespace: 'wp-allowed', name })) as Gateway;
    const internal = await until('ClusterIP gateway Programmed', async () => {
      const g = await read('internal');
      return condition(g, 'Programmed')?.status === 'True' && g;
    });
    const svc = await core.readNamespacedService({ name: 'internal-istio', namespace: 'wp-allowed' });
    expect(svc.spec?.type).toBe('ClusterIP');
    expect(svc.spec?.ports?.map((p) => p.port)).toEqual([80, 15021]);
    expect(internal.status?.addresses).toEqual([{ type: 'IPAddress', value: svc.spec?.clusterIP }]);
    expect(internal.status?.listeners?.[0]).toMatchObject({ name: 'http', attachedRoutes: 0 });
    const sa = await core.readNamespacedServiceAccount({ name: 'internal-istio', namespace: 'wp-allowed' });
    expect(sa.metadata?.ownerReferences?.[0]).toMatchObject({ kind: 'Gateway', name: 'internal' });
    await apps.readNamespacedDeployment({ name: 'internal-istio', namespace: 'wp-allowed' });

    // A LoadBalancer Service without a load balancer in this cluster: accepted, not programmed, and says why.
    const pub = await until('LoadBalancer gateway waiting', async () => {
      const g = await read('public');
      return condition(g, 'Programmed')?.reason === 'AddressNotAssigned' && g;
    });
    expect(condition(pub, 'Accepted')?.status).toBe('True');
    expect(
      (await core.readNamespacedService({ name: 'public-istio', namespace: 'wp-allowed' })).spec?.type,
    ).toBe('LoadBalancer');
    // Ingress gateways are not waypoints in the Mesh status.
    await until(
      'Mesh still counts one waypoint',
      async () => (await getMesh()).status?.waypoints?.total === 1,
    );
  });

  it('reports a Mesh that is wrong in meaning as Degraded and keeps running', async () => {
    await custom.patchClusterCustomObject(
      {
        ...MESHES,
        name: 'default',
        body: [{ op: 'add', path: '/spec/imagePullSecrets', value: [{ name: 'no-such-secret' }] }],
      },
      { headers: { 'Content-Type': 'application/json-patch+json' } } as never,
    );
    const m = await until('Degraded', async () => {
      const x = await getMesh();
      return condition(x, 'Degraded')?.status === 'True' && x;
    });
    expect(condition(m, 'Degraded')?.message).toContain('spec.imagePullSecrets[0].name');
    expect(condition(m, 'Ready')?.status).toBe('False');
    // The last good installation stays: the DaemonSet did not get the unknown pull secret.
    const ds = await apps.readNamespacedDaemonSet({ name: 'ztunnel', namespace: 'ambit-system' });
    expect(ds.spec?.template.spec?.imagePullSecrets ?? []).toEqual([]);

    await core.createNamespacedSecret({
      namespace: 'ambit-system',
      body: { metadata: { name: 'no-such-secret' }, type: 'Opaque', data: {} },
    });
    await until('recovered', async () => condition(await getMesh(), 'Degraded')?.status === 'False');
    await until('pull secret rolled out', async () => {
      const d = await apps.readNamespacedDaemonSet({ name: 'ztunnel', namespace: 'ambit-system' });
      return d.spec?.template.spec?.imagePullSecrets?.[0]?.name === 'no-such-secret';
    });
  });

  it('hands over to the other replica when the leader stops', async () => {
    const l = leader()!;
    const other = l === a ? b : a;
    await l.stop();
    await until('the other replica leads', () => Promise.resolve(other.isLeader()));
    await custom.patchClusterCustomObject(
      {
        ...MESHES,
        name: 'default',
        body: [{ op: 'replace', path: '/spec/ztunnel/logLevel', value: 'warn' }],
      },
      { headers: { 'Content-Type': 'application/json-patch+json' } } as never,
    );
    await until('new leader rolls the change', async () => {
      const d = await apps.readNamespacedDaemonSet({ name: 'ztunnel', namespace: 'ambit-system' });
      return d.spec?.template.spec?.containers[0]?.env?.some(
        (e) => e.name === 'LOG_LEVEL' && e.value === 'warn',
      );
    });
  });

  it('deletes everything it made when the Mesh is deleted, and nothing else', async () => {
    expect((await managedObjects()).length).toBeGreaterThan(0);
    await custom.deleteClusterCustomObject({ ...MESHES, name: 'default' });
    await until('Mesh gone', async () => {
      try {
        await getMesh();
        return false;
      } catch {
        return true;
      }
    });
    await until(
      'no managed object left',
      async () => (await managedObjects()).length === 0 || undefined,
      20_000,
    );
    // User objects stay: the Gateways and the namespaces.
    await custom.getNamespacedCustomObject({ ...GATEWAYS, namespace: 'wp-allowed', name: 'waypoint' });
    await core.readNamespace({ name: 'ambit-system' });
  });
});
