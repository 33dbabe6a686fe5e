// Informer caches of every kind translation reads, on @kubernetes/client-node's ListWatch (it relists on 410 Gone
// and reconnects with backoff). Events only signal "something changed" (STYLE §4): no handler branches on them.
import type {
  AuthorizationPolicy,
  DestinationRule,
  Gateway,
  GRPCRoute,
  HTTPRoute,
  PeerAuthentication,
  ReferenceGrant,
  VirtualService,
} from '@ambit/codegen/crds';
import {
  CoreV1Api,
  CustomObjectsApi,
  DiscoveryV1Api,
  makeInformer,
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
  type V1EndpointSlice,
  type V1Namespace,
  type V1Pod,
  type V1Service,
} from '@kubernetes/client-node';

/** A read-only view of one kind. */
export interface Cache<T> {
  list(): readonly T[];
}

export interface Started<T> extends Cache<T> {
  /** The cached objects, of one namespace when given. */
  list(namespace?: string): readonly T[];
  /** The cached object, if any (namespace omitted for cluster-scoped kinds). */
  get(name: string, namespace?: string): T | undefined;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** An informer that keeps itself running; `onChange` gets the object that changed (added, updated or deleted). */
export function informer<T extends KubernetesObject>(
  kc: KubeConfig,
  path: string,
  list: () => Promise<KubernetesListObject<T>>,
  onChange: (obj: T) => void,
  onError: (kind: string, err: unknown) => void,
  labelSelector?: string,
): Started<T> {
  const inf = makeInformer<T>(kc, path, list, labelSelector);
  for (const verb of ['add', 'update', 'delete'] as const) inf.on(verb, onChange);
  inf.on('error', (err: unknown) => {
    onError(path, err);
    // ListWatch stops on error; start again after a pause (the CRD may not be installed yet).
    setTimeout(() => void inf.start().catch((e: unknown) => onError(path, e)), 2000);
  });
  return {
    list: (namespace) => inf.list(namespace),
    get: (name, namespace) => inf.get(name, namespace),
    start: () => inf.start(),
    stop: () => inf.stop(),
  };
}

export interface ClusterCaches {
  readonly namespaces: Cache<V1Namespace>;
  readonly pods: Cache<V1Pod>;
  readonly services: Cache<V1Service>;
  readonly endpointSlices: Cache<V1EndpointSlice>;
  readonly gateways: Cache<Gateway>;
  readonly authorizationPolicies: Cache<AuthorizationPolicy>;
  readonly peerAuthentications: Cache<PeerAuthentication>;
  readonly virtualServices: Cache<VirtualService>;
  readonly destinationRules: Cache<DestinationRule>;
  readonly httpRoutes: Cache<HTTPRoute>;
  readonly grpcRoutes: Cache<GRPCRoute>;
  readonly referenceGrants: Cache<ReferenceGrant>;
  start(): Promise<void>;
  stop(): Promise<void>;
}

function customList<T>(kc: KubeConfig, group: string, version: string, plural: string) {
  const api = kc.makeApiClient(CustomObjectsApi);
  return async () =>
    (await api.listClusterCustomObject({ group, version, plural })) as KubernetesListObject<
      T & KubernetesObject
    >;
}

/** The list calls of every kind, shared by the informers and one-shot reads. */
function listers(kc: KubeConfig) {
  const core = kc.makeApiClient(CoreV1Api);
  const discovery = kc.makeApiClient(DiscoveryV1Api);
  return {
    namespaces: () => core.listNamespace(),
    pods: () => core.listPodForAllNamespaces(),
    services: () => core.listServiceForAllNamespaces(),
    endpointSlices: () => discovery.listEndpointSliceForAllNamespaces(),
    gateways: customList<Gateway>(kc, 'gateway.networking.k8s.io', 'v1', 'gateways'),
    authorizationPolicies: customList<AuthorizationPolicy>(
      kc,
      'security.istio.io',
      'v1',
      'authorizationpolicies',
    ),
    peerAuthentications: customList<PeerAuthentication>(kc, 'security.istio.io', 'v1', 'peerauthentications'),
    virtualServices: customList<VirtualService>(kc, 'networking.istio.io', 'v1', 'virtualservices'),
    destinationRules: customList<DestinationRule>(kc, 'networking.istio.io', 'v1', 'destinationrules'),
    httpRoutes: customList<HTTPRoute>(kc, 'gateway.networking.k8s.io', 'v1', 'httproutes'),
    grpcRoutes: customList<GRPCRoute>(kc, 'gateway.networking.k8s.io', 'v1', 'grpcroutes'),
    referenceGrants: customList<ReferenceGrant>(
      kc,
      'gateway.networking.k8s.io',
      'v1beta1',
      'referencegrants',
    ),
  };
}

/** One consistent-enough read of every kind, for commands that need a snapshot and no watch. */
export async function listCluster(kc: KubeConfig) {
  const l = listers(kc);
  const items = async <T>(f: () => Promise<KubernetesListObject<T & KubernetesObject>>): Promise<T[]> =>
    (await f()).items;
  return {
    namespaces: await items<V1Namespace>(l.namespaces),
    pods: await items<V1Pod>(l.pods),
    services: await items<V1Service>(l.services),
    endpointSlices: await items<V1EndpointSlice>(l.endpointSlices),
    gateways: await items<Gateway>(l.gateways).catch(() => []),
    authorizationPolicies: await items<AuthorizationPolicy>(l.authorizationPolicies).catch(() => []),
    peerAuthentications: await items<PeerAuthentication>(l.peerAuthentications).catch(() => []),
    virtualServices: await items<VirtualService>(l.virtualServices).catch(() => []),
    destinationRules: await items<DestinationRule>(l.destinationRules).catch(() => []),
    httpRoutes: await items<HTTPRoute>(l.httpRoutes).catch(() => []),
    grpcRoutes: await items<GRPCRoute>(l.grpcRoutes).catch(() => []),
    referenceGrants: await items<ReferenceGrant>(l.referenceGrants).catch(() => []),
  };
}

export function clusterCaches(
  kc: KubeConfig,
  onChange: () => void,
  onError: (kind: string, err: unknown) => void,
): ClusterCaches {
  const l = listers(kc);
  const all = {
    namespaces: informer(kc, '/api/v1/namespaces', l.namespaces, onChange, onError),
    pods: informer(kc, '/api/v1/pods', l.pods, onChange, onError),
    services: informer(kc, '/api/v1/services', l.services, onChange, onError),
    endpointSlices: informer(
      kc,
      '/apis/discovery.k8s.io/v1/endpointslices',
      l.endpointSlices,
      onChange,
      onError,
    ),
    gateways: informer(kc, '/apis/gateway.networking.k8s.io/v1/gateways', l.gateways, onChange, onError),
    authorizationPolicies: informer(
      kc,
      '/apis/security.istio.io/v1/authorizationpolicies',
      l.authorizationPolicies,
      onChange,
      onError,
    ),
    peerAuthentications: informer(
      kc,
      '/apis/security.istio.io/v1/peerauthentications',
      l.peerAuthentications,
      onChange,
      onError,
    ),
    virtualServices: informer(
      kc,
      '/apis/networking.istio.io/v1/virtualservices',
      l.virtualServices,
      onChange,
      onError,
    ),
    destinationRules: informer(
      kc,
      '/apis/networking.istio.io/v1/destinationrules',
      l.destinationRules,
      onChange,
      onError,
    ),
    httpRoutes: informer(
      kc,
      '/apis/gateway.networking.k8s.io/v1/httproutes',
      l.httpRoutes,
      onChange,
      onError,
    ),
    grpcRoutes: informer(
      kc,
      '/apis/gateway.networking.k8s.io/v1/grpcroutes',
      l.grpcRoutes,
      onChange,
      onError,
    ),
    referenceGrants: informer(
      kc,
      '/apis/gateway.networking.k8s.io/v1beta1/referencegrants',
      l.referenceGrants,
      onChange,
      onError,
    ),
  };
  const started: Started<unknown>[] = Object.values(all);
  return {
    ...all,
    start: async () => {
      await Promise.all(started.map((s) => s.start()));
    },
    stop: async () => {
      await Promise.all(started.map((s) => s.stop()));
    },
  };
}
