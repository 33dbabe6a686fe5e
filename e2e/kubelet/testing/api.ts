// Test helper: a throwaway namespace on the shared apiserver with a ServiceAccount, the root CA ConfigMap and pods.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { CoreV1Api, KubeConfig, type V1Pod } from '@kubernetes/client-node';
import type { TokenRequester, VolumeSources } from '../volumes.ts';

export interface TestNamespace {
  readonly name: string;
  readonly serviceAccount: string;
  readonly core: CoreV1Api;
  /** The cluster CA the kube-root-ca.crt ConfigMap carries. */
  readonly caPem: string;
  createPod(pod: V1Pod): Promise<V1Pod>;
  /** A TokenRequest bound to the pod, as the kubelet makes for projected tokens; records what it returned. */
  tokenRequester(pod: V1Pod, issued: string[]): TokenRequester;
  /** Deletes what it made, then the namespace (finalized by hand in case no namespace controller runs). */
  remove(): Promise<void>;
}

function clusterCa(kc: KubeConfig): string {
  const cluster = kc.getCurrentCluster();
  if (cluster?.caData !== undefined) return Buffer.from(cluster.caData, 'base64').toString('utf8');
  if (cluster?.caFile !== undefined) return readFileSync(cluster.caFile, 'utf8');
  throw new Error('kubeconfig has no cluster CA');
}

export async function createTestNamespace(kubeconfigPath: string, prefix: string): Promise<TestNamespace> {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfigPath);
  const core = kc.makeApiClient(CoreV1Api);
  const name = `${prefix}${randomBytes(3).toString('hex')}`;
  const serviceAccount = 'akt-runner';
  await core.createNamespace({ body: { metadata: { name } } });
  // What kube-controller-manager's service-account and root-ca-cert publishers make; it may be quicker than us.
  await core
    .createNamespacedServiceAccount({ namespace: name, body: { metadata: { name: serviceAccount } } })
    .catch(ignoreConflict);
  await core
    .createNamespacedConfigMap({
      namespace: name,
      body: { metadata: { name: 'kube-root-ca.crt' }, data: { 'ca.crt': clusterCa(kc) } },
    })
    .catch(ignoreConflict);
  const caPem =
    (await core.readNamespacedConfigMap({ namespace: name, name: 'kube-root-ca.crt' })).data?.['ca.crt'] ??
    '';
  const pods: string[] = [];
  return {
    name,
    serviceAccount,
    core,
    caPem,
    async createPod(pod) {
      const created = await core.createNamespacedPod({ namespace: name, body: pod });
      pods.push(created.metadata?.name ?? '');
      return created;
    },
    tokenRequester(pod, issued) {
      return async (audience, expirationSeconds) => {
        const res = await core.createNamespacedServiceAccountToken({
          namespace: name,
          name: pod.spec?.serviceAccountName ?? 'default',
          body: {
            spec: {
              audiences: audience === '' ? [] : [audience],
              expirationSeconds,
              boundObjectRef: {
                apiVersion: 'v1',
                kind: 'Pod',
                name: pod.metadata?.name,
                uid: pod.metadata?.uid,
              },
            },
          },
        });
        const token = res.status?.token ?? '';
        issued.push(token);
        return token;
      };
    },
    async remove() {
      for (const pod of pods) {
        await core
          .deleteNamespacedPod({ namespace: name, name: pod, gracePeriodSeconds: 0 })
          .catch(() => undefined);
      }
      await core
        .deleteNamespacedConfigMap({ namespace: name, name: 'kube-root-ca.crt' })
        .catch(() => undefined);
      await core
        .deleteNamespacedServiceAccount({ namespace: name, name: serviceAccount })
        .catch(() => undefined);
      await core.deleteNamespace({ name }).catch(() => undefined);
      await core
        .replaceNamespaceFinalize({ name, body: { metadata: { name }, spec: { finalizers: [] } } })
        .catch(() => undefined);
    },
  };
}

/** The JSON payload of a JWT (no verification: the apiserver issued it). */
export function jwtClaims(token: string): Record<string, unknown> {
  const part = token.split('.')[1] ?? '';
  return JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as Record<string, unknown>;
}

function ignoreConflict(err: unknown): void {
  if ((err as { code?: unknown }).code !== 409) throw err;
}

function isNotFound(err: unknown): boolean {
  return (err as { code?: unknown }).code === 404;
}

/** The kubelet's view of the namespace for volumes: reads through the API, TokenRequests bound to the pod. */
export function volumeSourcesFor(ns: TestNamespace, pod: V1Pod, issued: string[]): VolumeSources {
  return {
    getConfigMap: (name) =>
      ns.core.readNamespacedConfigMap({ namespace: ns.name, name }).catch((err: unknown) => {
        if (isNotFound(err)) return undefined;
        throw err;
      }),
    getSecret: (name) =>
      ns.core.readNamespacedSecret({ namespace: ns.name, name }).catch((err: unknown) => {
        if (isNotFound(err)) return undefined;
        throw err;
      }),
    requestToken: ns.tokenRequester(pod, issued),
  };
}
