// Everything a Mesh owns, rendered from the Mesh alone: the dataplane's node components, the control-plane
// Service, and the GatewayClasses. Not the namespace: the install makes ambit-system, and deleting the Mesh must
// not delete the operator with it.
import type { Mesh } from '@ambit/codegen/crds';
import { synth } from './chart.ts';
import {
  MANAGED_BY,
  MANAGED_BY_LABEL,
  OWNER_KIND_LABEL,
  type ClusterFacts,
  type KubeObject,
  type ObjectKind,
} from './contract.ts';
import { ControlPlaneService } from './control-plane-service.ts';
import { AmbitGatewayClasses } from './gateway-classes.ts';
import { meshOwnerReference, PART_OF, PART_OF_LABEL } from './labels.ts';
import { NODE_AGENT_DEFAULT_RESOURCES, NodeAgentDaemonSet } from './node-agent.ts';
import { containerSettings, imagePullSecrets, trustDomain } from './settings.ts';
import { ZTUNNEL_DEFAULT_RESOURCES, ZtunnelDaemonSet } from './ztunnel.ts';

/** Every kind renderMesh emits: what the Mesh reconciler lists (by MANAGED_BY_LABEL) to prune. */
export const meshObjectKinds: readonly ObjectKind[] = [
  { apiVersion: 'v1', kind: 'ServiceAccount' },
  { apiVersion: 'v1', kind: 'Service' },
  { apiVersion: 'apps/v1', kind: 'DaemonSet' },
  { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole' },
  { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding' },
  { apiVersion: 'gateway.networking.k8s.io/v1', kind: 'GatewayClass' },
];

/**
 * The objects `mesh` owns, each labelled as managed by the operator and owned by a Mesh, with the Mesh as its
 * controller (so they go when it goes). Namespaced ones live in COMPONENT_NAMESPACE.
 */
export function renderMesh(mesh: Mesh, facts: ClusterFacts): KubeObject[] {
  const { spec } = mesh;
  const pullSecrets = imagePullSecrets(spec);
  return synth(
    (scope) => {
      new ZtunnelDaemonSet(scope, 'Ztunnel', {
        container: containerSettings(spec.ztunnel, 'ztunnel', facts, ZTUNNEL_DEFAULT_RESOURCES),
        trustDomain: trustDomain(spec),
        imagePullSecrets: pullSecrets,
      });
      new NodeAgentDaemonSet(scope, 'NodeAgent', {
        container: containerSettings(spec.nodeAgent, 'node-agent', facts, NODE_AGENT_DEFAULT_RESOURCES),
        imagePullSecrets: pullSecrets,
      });
      new ControlPlaneService(scope, 'ControlPlane');
      new AmbitGatewayClasses(scope, 'GatewayClasses');
    },
    {
      labels: { [MANAGED_BY_LABEL]: MANAGED_BY, [OWNER_KIND_LABEL]: 'Mesh', [PART_OF_LABEL]: PART_OF },
      owner: meshOwnerReference(mesh),
    },
  );
}
