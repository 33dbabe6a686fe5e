// The real controller-manager and scheduler at work in the shared cluster: what a kubelet-less cluster still does.
import { randomBytes } from 'node:crypto';
import {
  ApiException,
  AppsV1Api,
  AuthenticationV1Api,
  CoreV1Api,
  KubeConfig,
  type V1Deployment,
  type V1Node,
  type V1OwnerReference,
  type V1Pod,
} from '@kubernetes/client-node';
import { afterAll, describe, expect, inject, it, vi } from 'vitest';

const kc = new KubeConfig();
kc.loadFromFile(inject('kubeconfigPath'));
const core = kc.makeApiClient(CoreV1Api);
const apps = kc.makeApiClient(AppsV1Api);
const authn = kc.makeApiClient(AuthenticationV1Api);

/** Polled deadlines: generous, since two cores are shared with other test files and builds (DESIGN §8). */
const EVENTUALLY = { timeout: 60_000, interval: 250 };
const TEST_TIMEOUT_MS = 180_000;

const suffix = randomBytes(3).toString('hex');
/** Our fake node carries this label and taint, so only our pods land on it and it attracts nobody else's. */
const NODE_KEY = 'ambit.dev/control-plane-test';

const isNotFound = (err: unknown): boolean => err instanceof ApiException && err.code === 404;

/** Resolves when `read` answers 404; rethrows anything else (vi.waitFor retries until the deadline). */
async function gone(read: () => Promise<unknown>): Promise<void> {
  try {
    await read();
  } catch (err) {
    if (isNotFound(err)) return;
    throw err;
  }
  throw new Error('still there');
}

async function createNamespace(prefix: string): Promise<string> {
  const name = `${prefix}-${suffix}`;
  await core.createNamespace({ body: { metadata: { name } } });
  return name;
}

/** What the kubelet does once a pod's containers are gone; without one, a bound pod would stay Terminating. */
async function forceDeletePods(namespace: string): Promise<void> {
  const pods = await core.listNamespacedPod({ namespace });
  await Promise.all(
    pods.items.map((p) =>
      core
        .deleteNamespacedPod({ namespace, name: p.metadata?.name ?? '', gracePeriodSeconds: 0 })
        .catch((err: unknown) => {
          if (!isNotFound(err)) throw err;
        }),
    ),
  );
}

/** Cleanup: bound pods first (see forceDeletePods), then the namespace, whose deletion then completes. */
async function deleteNamespace(namespace: string): Promise<void> {
  await forceDeletePods(namespace);
  await core.deleteNamespace({ name: namespace }).catch((err: unknown) => {
    if (!isNotFound(err)) throw err;
  });
}

function ownedBy(
  refs: readonly V1OwnerReference[] | undefined,
  kind: string,
  uid: string | undefined,
): boolean {
  return (refs ?? []).some((r) => r.kind === kind && r.uid === uid && r.controller === true);
}

/** Two pinned replicas that only our fake node accepts; nothing ever runs them (there is no kubelet). */
function pinnedDeployment(name: string, nodeName: string): V1Deployment {
  const labels = { app: name };
  return {
    metadata: { name },
    spec: {
      replicas: 2,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: {
          nodeSelector: { [NODE_KEY]: nodeName },
          tolerations: [{ key: NODE_KEY, operator: 'Equal', value: nodeName, effect: 'NoSchedule' }],
          containers: [{ name: 'app', image: 'registry.invalid/ambit/none:0' }],
        },
      },
    },
  };
}

/** The Node as a kubelet would register it; its status goes through the status subresource afterwards. */
function fakeNode(name: string): V1Node {
  return {
    metadata: {
      name,
      labels: { [NODE_KEY]: name, 'kubernetes.io/hostname': name, 'kubernetes.io/os': 'linux' },
    },
    spec: { taints: [{ key: NODE_KEY, value: name, effect: 'NoSchedule' }] },
  };
}

/** Ready, with room for pods: what the scheduler and the node-lifecycle controller look at. */
async function markNodeReady(name: string): Promise<void> {
  const node = await core.readNode({ name });
  const now = new Date();
  const resources = { cpu: '4', memory: '8Gi', pods: '110' };
  node.status = {
    ...node.status,
    capacity: resources,
    allocatable: resources,
    conditions: [
      {
        type: 'Ready',
        status: 'True',
        reason: 'KubeletReady',
        message: 'fake kubelet of control-plane.int.test.ts',
        lastHeartbeatTime: now,
        lastTransitionTime: now,
      },
    ],
  };
  // A conflict (the controller-manager wrote the node meanwhile) throws; the caller's waitFor reads again.
  await core.replaceNodeStatus({ name, body: node });
}

describe('the controller-manager', () => {
  it('gives a new namespace its default ServiceAccount and root CA ConfigMap', async () => {
    const namespace = await createNamespace('sa');
    try {
      const sa = await vi.waitFor(
        () => core.readNamespacedServiceAccount({ namespace, name: 'default' }),
        EVENTUALLY,
      );
      expect(sa.metadata?.namespace).toBe(namespace);
      const rootCa = await vi.waitFor(
        () => core.readNamespacedConfigMap({ namespace, name: 'kube-root-ca.crt' }),
        EVENTUALLY,
      );
      expect(rootCa.data?.['ca.crt']).toMatch(/^-----BEGIN CERTIFICATE-----/);
    } finally {
      await deleteNamespace(namespace);
    }
  });

  it(
    'completes a namespace deletion once the namespace controller has emptied it',
    async () => {
      const namespace = await createNamespace('ns-delete');
      try {
        await core.createNamespacedConfigMap({
          namespace,
          body: { metadata: { name: 'cm' }, data: { a: 'b' } },
        });
        await core.createNamespacedSecret({
          namespace,
          body: { metadata: { name: 'secret' }, stringData: { a: 'b' } },
        });
        await core.createNamespacedServiceAccount({ namespace, body: { metadata: { name: 'extra' } } });
        // Pods that no node accepts stay unscheduled; an unscheduled pod is deleted at once, kubelet or not.
        await vi.waitFor(() => core.readNamespacedServiceAccount({ namespace, name: 'default' }), EVENTUALLY);
        await apps.createNamespacedDeployment({
          namespace,
          body: pinnedDeployment('pending', 'no-such-node'),
        });
        await vi.waitFor(async () => {
          expect((await core.listNamespacedPod({ namespace })).items).toHaveLength(2);
        }, EVENTUALLY);

        await core.deleteNamespace({ name: namespace });
        await vi.waitFor(() => gone(() => core.readNamespace({ name: namespace })), EVENTUALLY);
      } finally {
        await deleteNamespace(namespace);
      }
    },
    TEST_TIMEOUT_MS,
  );
});

describe('a Deployment on a registered node (controller-manager and scheduler together)', () => {
  const nodeName = `ambit-cp-test-${suffix}`;
  let namespace = '';
  let rsUid: string | undefined;

  afterAll(async () => {
    if (namespace !== '') await deleteNamespace(namespace);
    await core.deleteNode({ name: nodeName }).catch((err: unknown) => {
      if (!isNotFound(err)) throw err;
    });
  });

  const pods = async (): Promise<V1Pod[]> => (await core.listNamespacedPod({ namespace })).items;

  it(
    'yields a ReplicaSet and its Pods, unscheduled while no node fits',
    async () => {
      namespace = await createNamespace('deploy');
      await vi.waitFor(() => core.readNamespacedServiceAccount({ namespace, name: 'default' }), EVENTUALLY);
      const deployment = await apps.createNamespacedDeployment({
        namespace,
        body: pinnedDeployment('web', nodeName),
      });

      const rs = await vi.waitFor(async () => {
        const [only, ...more] = (await apps.listNamespacedReplicaSet({ namespace })).items;
        expect(more).toHaveLength(0);
        expect(ownedBy(only?.metadata?.ownerReferences, 'Deployment', deployment.metadata?.uid)).toBe(true);
        return only;
      }, EVENTUALLY);
      rsUid = rs?.metadata?.uid;

      await vi.waitFor(async () => {
        const items = await pods();
        expect(items).toHaveLength(2);
        for (const p of items) {
          expect(ownedBy(p.metadata?.ownerReferences, 'ReplicaSet', rsUid)).toBe(true);
          // The scheduler has looked at it and found no node: it is running, not just absent.
          const scheduled = p.status?.conditions?.find((c) => c.type === 'PodScheduled');
          expect(scheduled).toMatchObject({ status: 'False', reason: 'Unschedulable' });
          expect(p.spec?.nodeName ?? '').toBe('');
        }
      }, EVENTUALLY);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'binds the pods to a Ready node, which gets a pod CIDR from 10.244.0.0/16',
    async () => {
      expect(namespace).not.toBe('');
      await core.createNode({ body: fakeNode(nodeName) });
      await vi.waitFor(() => markNodeReady(nodeName), EVENTUALLY);

      await vi.waitFor(async () => {
        const items = await pods();
        expect(items).toHaveLength(2);
        for (const p of items) expect(p.spec?.nodeName).toBe(nodeName);
      }, EVENTUALLY);

      const node = await vi.waitFor(async () => {
        const n = await core.readNode({ name: nodeName });
        expect(n.spec?.podCIDR).toMatch(/^10\.244\.(\d{1,3})\.0\/24$/);
        return n;
      }, EVENTUALLY);
      const third = Number(/^10\.244\.(\d+)\./.exec(node.spec?.podCIDR ?? '')?.[1]);
      expect(third).toBeLessThanOrEqual(255);
      expect(node.spec?.podCIDRs).toEqual([node.spec?.podCIDR]);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'garbage-collects the ReplicaSet and Pods when the Deployment is deleted',
    async () => {
      expect(rsUid).toBeDefined();
      await apps.deleteNamespacedDeployment({ namespace, name: 'web' });
      await vi.waitFor(async () => {
        expect((await apps.listNamespacedReplicaSet({ namespace })).items).toHaveLength(0);
      }, EVENTUALLY);

      // The garbage collector deletes the pods gracefully: being bound to a node, they only get a
      // deletionTimestamp and wait for that node's kubelet to confirm that the containers are gone.
      await vi.waitFor(async () => {
        const items = await pods();
        expect(items.length).toBeGreaterThan(0);
        for (const p of items) {
          expect(p.metadata?.deletionTimestamp).toBeDefined();
          expect(p.metadata?.deletionGracePeriodSeconds).toBe(30);
        }
      }, EVENTUALLY);
      // There is no kubelet: confirm as it would, with a deletion of grace 0.
      await forceDeletePods(namespace);
      await vi.waitFor(async () => {
        expect(await pods()).toHaveLength(0);
      }, EVENTUALLY);
    },
    TEST_TIMEOUT_MS,
  );
});

describe('service-account tokens', () => {
  it(
    'are issued bound to a pod (TokenRequest) and authenticate as its service account (TokenReview)',
    async () => {
      const namespace = await createNamespace('token');
      const audience = 'ambit.dev/control-plane-test';
      try {
        await core.createNamespacedServiceAccount({ namespace, body: { metadata: { name: 'ztunnel' } } });
        const pod = await core.createNamespacedPod({
          namespace,
          body: {
            metadata: { name: 'holder' },
            spec: {
              serviceAccountName: 'ztunnel',
              nodeSelector: { [NODE_KEY]: 'no-such-node' },
              containers: [{ name: 'app', image: 'registry.invalid/ambit/none:0' }],
            },
          },
        });
        const uid = pod.metadata?.uid;
        expect(uid).toBeDefined();

        const request = await core.createNamespacedServiceAccountToken({
          namespace,
          name: 'ztunnel',
          body: {
            spec: {
              audiences: [audience],
              expirationSeconds: 600,
              boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: 'holder', uid },
            },
          },
        });
        const token = request.status?.token ?? '';
        expect(token.split('.')).toHaveLength(3);

        const review = async () =>
          (await authn.createTokenReview({ body: { spec: { token, audiences: [audience] } } })).status;
        const status = await review();
        expect(status?.authenticated).toBe(true);
        expect(status?.audiences).toEqual([audience]);
        expect(status?.user?.username).toBe(`system:serviceaccount:${namespace}:ztunnel`);
        expect(status?.user?.groups).toEqual(
          expect.arrayContaining(['system:serviceaccounts', `system:serviceaccounts:${namespace}`]),
        );
        expect(status?.user?.extra?.['authentication.kubernetes.io/pod-name']).toEqual(['holder']);
        expect(status?.user?.extra?.['authentication.kubernetes.io/pod-uid']).toEqual([uid]);

        // Another audience is refused, and once the pod is gone so is the token.
        const other = await authn.createTokenReview({
          body: { spec: { token, audiences: ['someone-else'] } },
        });
        expect(other.status?.authenticated).toBeFalsy();
        await core.deleteNamespacedPod({ namespace, name: 'holder', gracePeriodSeconds: 0 });
        await vi.waitFor(async () => {
          expect((await review())?.authenticated).toBeFalsy();
        }, EVENTUALLY);
      } finally {
        await deleteNamespace(namespace);
      }
    },
    TEST_TIMEOUT_MS,
  );
});
