// The operator: the control plane (Mesh and Gateway reconcilers, translation, config server, CA), installed by the
// install manifests rather than by a Mesh.
import * as kplus from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { COMPONENT_NAMESPACE, CONTROL_PLANE_PORT, type ClusterFacts } from './contract.ts';
import { NAME_LABEL } from './labels.ts';
import { DOWNWARD_ENV, finishPodTemplate, podLabels } from './pod-spec.ts';

export const OPERATOR = 'ambit-operator';
/** Health (`/healthz`, `/readyz`) and metrics (`/metrics`) of the operator. */
export const OPERATOR_HTTP_PORT = 8080;
/** The distroless `nonroot` user. */
const NONROOT = 65532;

export interface OperatorDeploymentProps {
  readonly facts: ClusterFacts;
  /**
   * Pods: one leader reconciles, every replica serves config and certificates.
   *
   * @default 2
   */
  readonly replicas?: number;
}

/** The operator's ServiceAccount and Deployment. */
export class OperatorDeployment extends Construct {
  /** The operator's identity, for its role bindings. */
  readonly serviceAccount: kplus.ServiceAccount;

  constructor(scope: Construct, id: string, props: OperatorDeploymentProps) {
    super(scope, id);
    const metadata = { name: OPERATOR, namespace: COMPONENT_NAMESPACE, labels: { [NAME_LABEL]: OPERATOR } };
    this.serviceAccount = new kplus.ServiceAccount(this, 'ServiceAccount', {
      metadata,
      automountToken: false,
    });
    const deployment = new kplus.Deployment(this, 'Deployment', {
      metadata,
      replicas: props.replicas ?? 2,
      select: false,
      podMetadata: { labels: podLabels(OPERATOR) },
      serviceAccount: this.serviceAccount,
      // It talks to the apiserver with its own token.
      automountServiceAccountToken: true,
      securityContext: { user: NONROOT, group: NONROOT, ensureNonRoot: true },
      containers: [
        {
          name: OPERATOR,
          image: `${props.facts.imageRegistry}/operator:${props.facts.version}`,
          imagePullPolicy: kplus.ImagePullPolicy.IF_NOT_PRESENT,
          ports: [
            { number: CONTROL_PLANE_PORT, name: 'grpc-tls' },
            { number: OPERATOR_HTTP_PORT, name: 'http' },
          ],
          readiness: kplus.Probe.fromHttpGet('/readyz', { port: OPERATOR_HTTP_PORT }),
          liveness: kplus.Probe.fromHttpGet('/healthz', { port: OPERATOR_HTTP_PORT }),
          envVariables: { POD_NAME: DOWNWARD_ENV.POD_NAME, POD_NAMESPACE: DOWNWARD_ENV.POD_NAMESPACE },
          securityContext: {
            user: NONROOT,
            group: NONROOT,
            ensureNonRoot: true,
            privileged: false,
            allowPrivilegeEscalation: false,
            readOnlyRootFilesystem: true,
            capabilities: { drop: [kplus.Capability.ALL] },
            seccompProfile: { type: kplus.SeccompProfileType.RUNTIME_DEFAULT },
          },
        },
      ],
    });
    deployment.select(kplus.LabelSelector.of({ labels: { [NAME_LABEL]: OPERATOR } }));
    finishPodTemplate(deployment, { requests: { cpu: '100m', memory: '128Mi' } });
  }
}
