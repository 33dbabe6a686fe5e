// The GatewayClasses whose Gateways Ambit provisions: waypoints (east-west) and gateways (north-south), each under
// Ambit's name and Istio's, so Istio's YAML works unchanged (DESIGN §3).
import type { GatewayClassSpec } from '@ambit/codegen/crds';
import { ApiObject } from 'cdk8s';
import { Construct } from 'constructs';
import { GATEWAY_CLASSES, GATEWAY_CONTROLLER, WAYPOINT_CLASSES, WAYPOINT_CONTROLLER } from './contract.ts';
import { NAME_LABEL } from './labels.ts';

// At most 64 bytes: the Gateway API schema limits spec.description.
const WAYPOINT_DESCRIPTION = 'Ambit waypoint: L7 proxy for bound services and workloads.';
const GATEWAY_DESCRIPTION = 'Ambit gateway: north-south ingress into the mesh.';

/**
 * The four classes, cluster-scoped. A class of the same name that another controller already owns is left alone;
 * that is the reconciler's decision (DESIGN §8), so this renders them all.
 */
export class AmbitGatewayClasses extends Construct {
  constructor(scope: Construct, id: string) {
    super(scope, id);
    const classes: [string, GatewayClassSpec][] = [
      ...WAYPOINT_CLASSES.map((name): [string, GatewayClassSpec] => [
        name,
        { controllerName: WAYPOINT_CONTROLLER, description: WAYPOINT_DESCRIPTION },
      ]),
      ...GATEWAY_CLASSES.map((name): [string, GatewayClassSpec] => [
        name,
        { controllerName: GATEWAY_CONTROLLER, description: GATEWAY_DESCRIPTION },
      ]),
    ];
    for (const [name, spec] of classes) {
      new ApiObject(this, name, {
        apiVersion: 'gateway.networking.k8s.io/v1',
        kind: 'GatewayClass',
        metadata: { name, labels: { [NAME_LABEL]: name } },
        spec,
      });
    }
  }
}
