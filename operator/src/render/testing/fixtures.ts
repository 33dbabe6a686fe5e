// Owners for render tests, shaped as the apiserver returns them (with uids). Test-only.
import type { Gateway, Mesh, MeshSpec } from '@ambit/codegen/crds';
import type { ClusterFacts, KubeObject } from '../contract.ts';

export const FACTS: ClusterFacts = { version: '1.2.3', imageRegistry: 'registry.example/ambit' };

export function mesh(spec: MeshSpec = {}): Mesh {
  return {
    apiVersion: 'ambit.dev/v1alpha1',
    kind: 'Mesh',
    metadata: { name: 'default', uid: '6f1c1a0e-0000-4000-8000-000000000001', generation: 1 },
    spec,
  };
}

export function waypointGateway(name = 'reviews-waypoint', namespace = 'bookinfo'): Gateway {
  return {
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'Gateway',
    metadata: { name, namespace, uid: '6f1c1a0e-0000-4000-8000-000000000002' },
    spec: {
      gatewayClassName: 'ambit-waypoint',
      listeners: [{ name: 'mesh', port: 15008, protocol: 'HBONE' }],
    },
  };
}

/** Istio's getting-started ingress: class `istio`, one HTTP listener on 80. */
export function ingressGateway(
  name = 'bookinfo-gateway',
  namespace = 'default',
  over: Partial<Gateway['spec']> = {},
  annotations?: Record<string, string>,
): Gateway {
  return {
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'Gateway',
    metadata: {
      name,
      namespace,
      uid: '6f1c1a0e-0000-4000-8000-000000000003',
      ...(annotations ? { annotations } : {}),
    },
    spec: {
      gatewayClassName: 'istio',
      listeners: [
        { name: 'http', port: 80, protocol: 'HTTP', allowedRoutes: { namespaces: { from: 'Same' } } },
      ],
      ...over,
    },
  };
}

/** The one object of `kind` named `name`; fails the test when there is not exactly one. */
export function find(objects: readonly KubeObject[], kind: string, name: string): KubeObject {
  const found = objects.filter((o) => o.kind === kind && o.metadata.name === name);
  if (found.length !== 1) throw new Error(`expected one ${kind}/${name}, found ${found.length}`);
  return found[0] as KubeObject;
}

/** A path into a rendered object, for asserts; `undefined` where the path does not exist. */
export function at(value: unknown, ...path: (string | number)[]): unknown {
  let cur = value;
  for (const key of path) {
    if (typeof cur !== 'object' || cur === null) return undefined;
    cur = (cur as Record<string | number, unknown>)[key];
  }
  return cur;
}

/** The pod spec and its only container of a rendered DaemonSet or Deployment. */
export function podOf(workload: KubeObject): {
  pod: Record<string, unknown>;
  container: Record<string, unknown>;
} {
  const pod = at(workload, 'spec', 'template', 'spec') as Record<string, unknown>;
  const container = at(pod, 'containers', 0) as Record<string, unknown>;
  return { pod, container };
}

export interface PolicyRule {
  apiGroups?: string[];
  resources?: string[];
  resourceNames?: string[];
  verbs: string[];
}

export function rulesOf(role: KubeObject): PolicyRule[] {
  return (role.rules ?? []) as PolicyRule[];
}

/** The value of env var `name` of a container (literal values only). */
export function envValue(container: Record<string, unknown>, name: string): string | undefined {
  const env = (container.env ?? []) as { name: string; value?: string }[];
  return env.find((e) => e.name === name)?.value;
}
