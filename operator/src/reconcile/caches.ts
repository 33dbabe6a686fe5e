// The informer caches the reconcilers read: the Mesh, Gateways and GatewayClasses, Namespaces (for the
// allowed-namespaces rule), Secrets of ambit-system (pull secrets, root), and every kind the operator applies,
// watched through its managed-by label only. Events carry the changed object so the caller can enqueue its owner's
// key; no handler branches on the event type (STYLE §4).
import type { Gateway, GatewayClass, Mesh } from '@ambit/codegen/crds';
import {
  AppsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  PolicyV1Api,
  RbacAuthorizationV1Api,
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
  type V1ClusterRole,
  type V1ClusterRoleBinding,
  type V1DaemonSet,
  type V1Deployment,
  type V1Namespace,
  type V1PodDisruptionBudget,
  type V1Secret,
  type V1Service,
  type V1ServiceAccount,
} from '@kubernetes/client-node';
import { informer, type Started } from '../engine/caches.ts';
import { COMPONENT_NAMESPACE, MANAGED_BY, MANAGED_BY_LABEL } from '../render/contract.ts';

type K8s<T> = T & KubernetesObject;

export interface OperatorCaches {
  readonly meshes: Started<K8s<Mesh>>;
  readonly gateways: Started<K8s<Gateway>>;
  readonly gatewayClasses: Started<K8s<GatewayClass>>;
  readonly namespaces: Started<V1Namespace>;
  readonly secrets: Started<V1Secret>;
  /** Objects the operator applied, by kind. */
  readonly owned: OwnedCaches;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** Every kind rendering produces, except GatewayClass (watched whole: a foreign class of our name matters). */
export const OWNED_KINDS = [
  'ServiceAccount',
  'Service',
  'DaemonSet',
  'Deployment',
  'PodDisruptionBudget',
  'ClusterRole',
  'ClusterRoleBinding',
] as const;
export type OwnedKind = (typeof OWNED_KINDS)[number];

export interface OwnedCaches {
  readonly ServiceAccount: Started<V1ServiceAccount>;
  readonly Service: Started<V1Service>;
  readonly DaemonSet: Started<V1DaemonSet>;
  readonly Deployment: Started<V1Deployment>;
  readonly PodDisruptionBudget: Started<V1PodDisruptionBudget>;
  readonly ClusterRole: Started<V1ClusterRole>;
  readonly ClusterRoleBinding: Started<V1ClusterRoleBinding>;
}

export function isOwnedKind(kind: string): kind is OwnedKind {
  return (OWNED_KINDS as readonly string[]).includes(kind);
}

export type ChangeHandler = (
  source: 'Mesh' | 'Gateway' | 'GatewayClass' | 'Namespace' | 'Secret' | 'Owned',
  obj: KubernetesObject,
) => void;

const MANAGED = `${MANAGED_BY_LABEL}=${MANAGED_BY}`;

function custom<T>(kc: KubeConfig, group: string, version: string, plural: string) {
  const api = kc.makeApiClient(CustomObjectsApi);
  return async () =>
    (await api.listClusterCustomObject({ group, version, plural })) as KubernetesListObject<K8s<T>>;
}

export function operatorCaches(
  kc: KubeConfig,
  onChange: ChangeHandler,
  onError: (kind: string, err: unknown) => void,
): OperatorCaches {
  const core = kc.makeApiClient(CoreV1Api);
  const apps = kc.makeApiClient(AppsV1Api);
  const rbac = kc.makeApiClient(RbacAuthorizationV1Api);
  const policy = kc.makeApiClient(PolicyV1Api);
  const on =
    (source: Parameters<ChangeHandler>[0]) =>
    (o: KubernetesObject): void =>
      onChange(source, o);
  const owned = <T extends KubernetesObject>(path: string, list: () => Promise<KubernetesListObject<T>>) =>
    informer<T>(kc, path, list, on('Owned'), onError, MANAGED);
  const sel = { labelSelector: MANAGED };

  const all = {
    meshes: informer(
      kc,
      '/apis/ambit.dev/v1alpha1/meshes',
      custom<Mesh>(kc, 'ambit.dev', 'v1alpha1', 'meshes'),
      on('Mesh'),
      onError,
    ),
    gateways: informer(
      kc,
      '/apis/gateway.networking.k8s.io/v1/gateways',
      custom<Gateway>(kc, 'gateway.networking.k8s.io', 'v1', 'gateways'),
      on('Gateway'),
      onError,
    ),
    gatewayClasses: informer(
      kc,
      '/apis/gateway.networking.k8s.io/v1/gatewayclasses',
      custom<GatewayClass>(kc, 'gateway.networking.k8s.io', 'v1', 'gatewayclasses'),
      on('GatewayClass'),
      onError,
    ),
    namespaces: informer(kc, '/api/v1/namespaces', () => core.listNamespace(), on('Namespace'), onError),
    secrets: informer(
      kc,
      `/api/v1/namespaces/${COMPONENT_NAMESPACE}/secrets`,
      () => core.listNamespacedSecret({ namespace: COMPONENT_NAMESPACE }),
      on('Secret'),
      onError,
    ),
  };
  const ownedCaches: OwnedCaches = {
    ServiceAccount: owned<V1ServiceAccount>('/api/v1/serviceaccounts', () =>
      core.listServiceAccountForAllNamespaces(sel),
    ),
    Service: owned<V1Service>('/api/v1/services', () => core.listServiceForAllNamespaces(sel)),
    DaemonSet: owned<V1DaemonSet>('/apis/apps/v1/daemonsets', () => apps.listDaemonSetForAllNamespaces(sel)),
    Deployment: owned<V1Deployment>('/apis/apps/v1/deployments', () =>
      apps.listDeploymentForAllNamespaces(sel),
    ),
    PodDisruptionBudget: owned<V1PodDisruptionBudget>('/apis/policy/v1/poddisruptionbudgets', () =>
      policy.listPodDisruptionBudgetForAllNamespaces(sel),
    ),
    ClusterRole: owned<V1ClusterRole>('/apis/rbac.authorization.k8s.io/v1/clusterroles', () =>
      rbac.listClusterRole(sel),
    ),
    ClusterRoleBinding: owned<V1ClusterRoleBinding>(
      '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings',
      () => rbac.listClusterRoleBinding(sel),
    ),
  };
  const started: Started<unknown>[] = [
    ...Object.values<Started<unknown>>(all),
    ...OWNED_KINDS.map((k): Started<unknown> => ownedCaches[k]),
  ];
  return {
    ...all,
    owned: ownedCaches,
    start: async () => {
      await Promise.all(started.map((s) => s.start()));
    },
    stop: async () => {
      await Promise.all(started.map((s) => s.stop()));
    },
  };
}
