// The contract between rendering (pure: objects in, manifests out) and the reconcilers that apply them: the object
// shape, the labels every owned object carries (how pruning finds what the operator made), and the cluster facts
// rendering needs beyond the Mesh itself.

/** One Kubernetes object as plain JSON, ready for server-side apply. */
export interface KubeObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: {
    readonly name: string;
    readonly namespace?: string;
    readonly labels?: Readonly<Record<string, string>>;
    readonly annotations?: Readonly<Record<string, string>>;
    readonly ownerReferences?: readonly {
      readonly apiVersion: string;
      readonly kind: string;
      readonly name: string;
      readonly uid: string;
      readonly controller?: boolean;
      readonly blockOwnerDeletion?: boolean;
    }[];
  };
  readonly [field: string]: unknown;
}

/** Namespace of Ambit's own components (operator, ztunnel, node agent). Made by the install, not by the Mesh. */
export const COMPONENT_NAMESPACE = 'ambit-system';
/** The only Mesh the operator honours (DESIGN §8). */
export const MESH_NAME = 'default';

/** On every object the operator applies. */
export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
export const MANAGED_BY = 'ambit-operator';
/** Which reconciler owns the object: `Mesh` (mesh components) or `Gateway` (a waypoint's or gateway's objects). */
export const OWNER_KIND_LABEL = 'ambit.dev/owner-kind';
/** On a Gateway's objects: the Gateway's name (same namespace), as Istio labels its waypoints. */
export const GATEWAY_NAME_LABEL = 'gateway.networking.k8s.io/gateway-name';
/** On the objects of a Gateway's proxy: `waypoint` or `gateway` (ingress), so each family is counted apart. */
export const PROXY_KIND_LABEL = 'ambit.dev/proxy';

/** The GatewayClass controller names Ambit answers to. */
export const WAYPOINT_CONTROLLER = 'ambit.dev/waypoint-controller';
export const GATEWAY_CONTROLLER = 'ambit.dev/gateway-controller';
/** Waypoint classes (DESIGN §3): ours and Istio's name, so Istio YAML works unchanged. */
export const WAYPOINT_CLASSES = ['ambit-waypoint', 'istio-waypoint'] as const;
/** North-south gateway classes (issue 10). */
export const GATEWAY_CLASSES = ['ambit', 'istio'] as const;

/** Audience of the projected service-account tokens proxies present to the control plane. */
export { CONTROL_PLANE_AUDIENCE } from '../ca/token-review.ts';
/** The control-plane Service (config gRPC + CA) in COMPONENT_NAMESPACE. */
export const CONTROL_PLANE_SERVICE = 'ambit-control-plane';
export const CONTROL_PLANE_PORT = 15010;

/** Facts about the cluster and the release that rendering needs besides the Mesh. */
export interface ClusterFacts {
  /** Release of the operator; default image tags. */
  readonly version: string;
  /** Registry and repository prefix of the default images, e.g. `ghcr.io/ambit-mesh`. */
  readonly imageRegistry: string;
}

/** Which kinds a render function may emit, so a reconciler knows what to list (by label) when pruning. */
export interface ObjectKind {
  readonly apiVersion: string;
  readonly kind: string;
}

/** `host:port` at which proxies reach the control plane (config gRPC + CA) through CONTROL_PLANE_SERVICE. */
export const CONTROL_PLANE_ADDRESS = `${CONTROL_PLANE_SERVICE}.${COMPONENT_NAMESPACE}.svc:${CONTROL_PLANE_PORT}`;
/**
 * ConfigMap holding the mesh root certificate(s) (PEM, key ROOT_CA_KEY) that proxies trust for the control-plane TLS
 * channel. Written by the CA into COMPONENT_NAMESPACE and every namespace that runs a waypoint or gateway
 * (control-plane/bundle-copies.ts); rendering only mounts it.
 */
export const ROOT_CA_CONFIGMAP = 'ambit-root-ca';
export const ROOT_CA_KEY = 'root-cert.pem';
/** Where proxies find their control-plane token (file CONTROL_PLANE_TOKEN_FILE) and ROOT_CA_KEY. */
export const PROXY_CREDENTIALS_DIR = '/var/run/secrets/ambit';
export const CONTROL_PLANE_TOKEN_FILE = 'token';
/** Host directory shared by the node agent and ztunnel: the unix socket over which pod netns fds are handed over. */
export const NODE_AGENT_SOCKET_DIR = '/var/run/ambit';
/** Where the container runtime bind-mounts pod network namespaces on the node (containerd, CRI-O, `ip netns`). */
export const POD_NETNS_DIR = '/var/run/netns';
