// The install manifests: what a cluster admin applies once (kubectl, Argo CD) before creating a Mesh. The CRDs,
// the ambit-system namespace, and the operator with its RBAC. Everything else the operator renders from the Mesh.
import * as kplus from 'cdk8s-plus-28';
import { synth } from './chart.ts';
import { COMPONENT_NAMESPACE, type ClusterFacts, type KubeObject } from './contract.ts';
import { PART_OF, PART_OF_LABEL } from './labels.ts';
import { OperatorDeployment } from './operator-deployment.ts';
import { OperatorRbac } from './operator-rbac.ts';

/**
 * The install objects. `crds` are passed through unchanged: the caller reads them (the Mesh CRD and the vendored
 * Istio and Gateway API CRDs under crds/), so rendering stays free of I/O.
 *
 * None of these carries MANAGED_BY_LABEL: they belong to whoever applies the install, and the operator must never
 * prune them.
 */
export function renderInstall(facts: ClusterFacts, crds: readonly KubeObject[]): KubeObject[] {
  const objects = synth(
    (scope) => {
      new kplus.Namespace(scope, 'Namespace', {
        metadata: {
          name: COMPONENT_NAMESPACE,
          // The node components need host paths, host network and capabilities: admit them even where the
          // cluster's default Pod Security level is stricter.
          labels: { 'pod-security.kubernetes.io/enforce': 'privileged' },
        },
      });
      const operator = new OperatorDeployment(scope, 'Operator', { facts });
      new OperatorRbac(scope, 'OperatorRbac', { serviceAccount: operator.serviceAccount });
    },
    { labels: { [PART_OF_LABEL]: PART_OF } },
  );
  return [...crds, ...objects];
}
