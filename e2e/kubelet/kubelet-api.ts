// The apiserver calls a kubelet makes, as one small interface (a fake stands in for it in unit tests).
import type {
  KubernetesListObject,
  V1ConfigMap,
  V1Node,
  V1Pod,
  V1Secret,
  V1Service,
} from '@kubernetes/client-node';
import { isApiStatus } from './errors.ts';
import type { KubeRest } from './kube-rest.ts';
import { NODE_LEASE_NAMESPACE } from './node-object.ts';

/** Objects come back as raw JSON: their time fields are strings, whatever the client-node types say. */
export interface KubeletApi {
  getNode(name: string): Promise<V1Node | undefined>;
  createNode(node: V1Node): Promise<V1Node>;
  /** JSON merge patch of the Node (labels). */
  patchNode(name: string, patch: unknown): Promise<V1Node>;
  /** JSON merge patch of `nodes/<name>/status`. */
  patchNodeStatus(name: string, patch: unknown): Promise<V1Node>;
  /** Creates the Lease (409 when it exists). */
  createLease(lease: unknown): Promise<void>;
  /** Merge patch of the Lease; false when it does not exist. */
  renewLease(name: string, patch: unknown): Promise<boolean>;
  listPods(fieldSelector: string): Promise<KubernetesListObject<V1Pod>>;
  listServices(): Promise<KubernetesListObject<V1Service>>;
  getConfigMap(namespace: string, name: string): Promise<V1ConfigMap | undefined>;
  getSecret(namespace: string, name: string): Promise<V1Secret | undefined>;
  /** A TokenRequest for the service account, bound to the pod. `audience` '' means the apiserver's own. */
  requestToken(
    pod: {
      readonly namespace: string;
      readonly name: string;
      readonly uid: string;
      readonly serviceAccount: string;
    },
    audience: string,
    expirationSeconds: number,
  ): Promise<string>;
  /** Strategic merge patch of `pods/<name>/status`; false when the pod (with that uid) is gone. */
  patchPodStatus(namespace: string, name: string, patch: unknown): Promise<boolean>;
  /** DELETE with gracePeriodSeconds 0 and a uid precondition; false when the pod (with that uid) is gone. */
  deletePod(namespace: string, name: string, uid: string): Promise<boolean>;
}

const MERGE = 'application/merge-patch+json';
const STRATEGIC = 'application/strategic-merge-patch+json';

function p(...segments: string[]): string {
  return segments.map(encodeURIComponent).join('/');
}

async function orUndefined<T>(call: Promise<T>): Promise<T | undefined> {
  try {
    return await call;
  } catch (err) {
    if (isApiStatus(err, 404)) return undefined;
    throw err;
  }
}

/** Whether the call succeeded; 404 and 409 (a uid precondition that no longer holds) mean "gone". */
async function unlessGone(call: Promise<unknown>): Promise<boolean> {
  try {
    await call;
    return true;
  } catch (err) {
    if (isApiStatus(err, 404, 409)) return false;
    throw err;
  }
}

export function restKubeletApi(rest: KubeRest): KubeletApi {
  return {
    getNode: (name) => orUndefined(rest.request<V1Node>('GET', `/api/v1/nodes/${p(name)}`)),
    createNode: (node) => rest.request<V1Node>('POST', '/api/v1/nodes', { body: node }),
    patchNode: (name, patch) =>
      rest.request<V1Node>('PATCH', `/api/v1/nodes/${p(name)}`, { body: patch, contentType: MERGE }),
    patchNodeStatus: (name, patch) =>
      rest.request<V1Node>('PATCH', `/api/v1/nodes/${p(name)}/status`, { body: patch, contentType: MERGE }),
    createLease: async (lease) => {
      await rest.request('POST', `/apis/coordination.k8s.io/v1/namespaces/${NODE_LEASE_NAMESPACE}/leases`, {
        body: lease,
      });
    },
    renewLease: (name, patch) =>
      unlessGone(
        rest.request(
          'PATCH',
          `/apis/coordination.k8s.io/v1/namespaces/${NODE_LEASE_NAMESPACE}/leases/${p(name)}`,
          {
            body: patch,
            contentType: MERGE,
          },
        ),
      ),
    listPods: (fieldSelector) =>
      rest.request<KubernetesListObject<V1Pod>>('GET', '/api/v1/pods', { query: { fieldSelector } }),
    listServices: () => rest.request<KubernetesListObject<V1Service>>('GET', '/api/v1/services'),
    getConfigMap: (namespace, name) =>
      orUndefined(rest.request<V1ConfigMap>('GET', `/api/v1/namespaces/${p(namespace, 'configmaps', name)}`)),
    getSecret: (namespace, name) =>
      orUndefined(rest.request<V1Secret>('GET', `/api/v1/namespaces/${p(namespace, 'secrets', name)}`)),
    requestToken: async (pod, audience, expirationSeconds) => {
      const res = await rest.request<{ status?: { token?: string } }>(
        'POST',
        `/api/v1/namespaces/${p(pod.namespace, 'serviceaccounts', pod.serviceAccount, 'token')}`,
        {
          body: {
            apiVersion: 'authentication.k8s.io/v1',
            kind: 'TokenRequest',
            spec: {
              audiences: audience === '' ? [] : [audience],
              expirationSeconds,
              boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: pod.name, uid: pod.uid },
            },
          },
        },
      );
      return res.status?.token ?? '';
    },
    patchPodStatus: (namespace, name, patch) =>
      unlessGone(
        rest.request('PATCH', `/api/v1/namespaces/${p(namespace, 'pods', name, 'status')}`, {
          body: patch,
          contentType: STRATEGIC,
        }),
      ),
    deletePod: (namespace, name, uid) =>
      unlessGone(
        rest.request('DELETE', `/api/v1/namespaces/${p(namespace, 'pods', name)}`, {
          body: {
            apiVersion: 'v1',
            kind: 'DeleteOptions',
            gracePeriodSeconds: 0,
            preconditions: { uid },
          },
        }),
      ),
  };
}
