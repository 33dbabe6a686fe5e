// The Service through which proxies reach the control plane (config gRPC and CA) run by the operator's pods.
import * as kplus from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { COMPONENT_NAMESPACE, CONTROL_PLANE_PORT, CONTROL_PLANE_SERVICE } from './contract.ts';
import { NAME_LABEL } from './labels.ts';
import { OPERATOR } from './operator-deployment.ts';

/**
 * `ambit-control-plane`, selecting the operator's pods. Every replica serves config (not only the leader), so the
 * Service spreads proxies over all of them. The typed L1 construct, since cdk8s-plus' Service has no appProtocol.
 */
export class ControlPlaneService extends Construct {
  constructor(scope: Construct, id: string) {
    super(scope, id);
    new kplus.k8s.KubeService(this, 'Service', {
      metadata: {
        name: CONTROL_PLANE_SERVICE,
        namespace: COMPONENT_NAMESPACE,
        labels: { [NAME_LABEL]: CONTROL_PLANE_SERVICE },
      },
      spec: {
        type: 'ClusterIP',
        selector: { [NAME_LABEL]: OPERATOR },
        ports: [
          {
            name: 'grpc-tls',
            port: CONTROL_PLANE_PORT,
            targetPort: kplus.k8s.IntOrString.fromNumber(CONTROL_PLANE_PORT),
            appProtocol: 'grpc',
          },
        ],
      },
    });
  }
}
