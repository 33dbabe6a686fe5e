// A waypoint: the L7 proxy Ambit provisions for a Gateway of a waypoint class, in the Gateway's namespace and
// under the Gateway's name (Istio's naming, so policies naming the waypoint's service account work unchanged).
import type { Gateway, Mesh } from '@ambit/codegen/crds';
import * as kplus from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { synth } from './chart.ts';
import { type ClusterFacts, type KubeObject, type ObjectKind } from './contract.ts';
import {
  gatewayProxyPlacement,
  ProxyDeployment,
  proxyObjectMetadata,
  proxySelector,
} from './proxy-deployment.ts';
import {
  containerSettings,
  imagePullSecrets,
  trustDomain,
  type ContainerSettings,
  type Resources,
} from './settings.ts';

/** Every kind renderWaypoint emits: what the Gateway reconciler lists (by MANAGED_BY_LABEL) to prune. */
export const waypointObjectKinds: readonly ObjectKind[] = [
  { apiVersion: 'v1', kind: 'ServiceAccount' },
  { apiVersion: 'v1', kind: 'Service' },
  { apiVersion: 'apps/v1', kind: 'Deployment' },
  { apiVersion: 'policy/v1', kind: 'PodDisruptionBudget' },
];

/** Requests when the Mesh sets none: DESIGN §7 measures ~0.25 vCPU and 60 MB per 1,000 req/s. No limits. */
export const WAYPOINT_DEFAULT_RESOURCES: Resources = { requests: { cpu: '100m', memory: '128Mi' } };

export interface WaypointProps {
  /** Namespace and name of the Gateway, which the waypoint's objects share. */
  readonly namespace: string;
  readonly name: string;
  /** Image, pull policy, log level and resources of the waypoint container. */
  readonly container: ContainerSettings;
  /** SPIFFE trust domain of the mesh. */
  readonly trustDomain: string;
  /**
   * Secrets to pull the image with. They must exist in the Gateway's namespace: the operator cannot read Secrets
   * outside ambit-system, so it does not copy them there.
   *
   * @default none
   */
  readonly imagePullSecrets?: readonly string[];
}

const selectorLabels = proxySelector;
const objectMetadata = proxyObjectMetadata;

/** The waypoint's ServiceAccount (its identity) and Deployment. */
export class WaypointDeployment extends Construct {
  constructor(scope: Construct, id: string, props: WaypointProps) {
    super(scope, id);
    new ProxyDeployment(this, 'Proxy', {
      namespace: props.namespace,
      name: props.name,
      gatewayName: props.name,
      containerName: 'waypoint',
      container: props.container,
      trustDomain: props.trustDomain,
      ports: [
        { number: 15008, name: 'hbone' },
        { number: 15020, name: 'metrics' },
        { number: 15021, name: 'health' },
      ],
      env: { WAYPOINT_NAME: kplus.EnvValue.fromValue(props.name) },
      ...(props.imagePullSecrets ? { imagePullSecrets: props.imagePullSecrets } : {}),
    });
  }
}

/** The waypoint's Service: the address ztunnels send HBONE to, and its status port. */
export class WaypointService extends Construct {
  constructor(scope: Construct, id: string, props: WaypointProps) {
    super(scope, id);
    // The typed L1 construct, since cdk8s-plus' Service has no appProtocol.
    new kplus.k8s.KubeService(this, 'Service', {
      metadata: objectMetadata(props),
      spec: {
        type: 'ClusterIP',
        selector: selectorLabels(props.name),
        ports: [
          {
            name: 'mesh',
            port: 15008,
            targetPort: kplus.k8s.IntOrString.fromNumber(15008),
            appProtocol: 'hbone',
          },
          { name: 'status-port', port: 15021, targetPort: kplus.k8s.IntOrString.fromNumber(15021) },
        ],
      },
    });
  }
}

/**
 * A PodDisruptionBudget that lets drains proceed. With one replica, `minAvailable: 1` would block every node drain
 * forever; `maxUnavailable: 1` still makes evictions go through the eviction API one at a time.
 */
export class WaypointDisruptionBudget extends Construct {
  constructor(scope: Construct, id: string, props: WaypointProps) {
    super(scope, id);
    new kplus.k8s.KubePodDisruptionBudget(this, 'PodDisruptionBudget', {
      metadata: objectMetadata(props),
      spec: {
        maxUnavailable: kplus.k8s.IntOrString.fromNumber(1),
        selector: { matchLabels: selectorLabels(props.name) },
      },
    });
  }
}

/**
 * The objects of the waypoint for `gateway` (a Gateway of a waypoint class the Mesh allows in its namespace: the
 * reconciler decides that), each labelled as managed by the operator and owned by that Gateway, with the Gateway as
 * controller.
 */
export function renderWaypoint(gateway: Gateway, mesh: Mesh, facts: ClusterFacts): KubeObject[] {
  const { namespace, gatewayName: name, synthOptions } = gatewayProxyPlacement(gateway, 'waypoint');
  const props: WaypointProps = {
    namespace,
    name,
    container: containerSettings(mesh.spec.waypoint, 'waypoint', facts, WAYPOINT_DEFAULT_RESOURCES),
    trustDomain: trustDomain(mesh.spec),
    imagePullSecrets: imagePullSecrets(mesh.spec),
  };
  return synth((scope) => {
    new WaypointDeployment(scope, 'Deployment', props);
    new WaypointService(scope, 'Service', props);
    new WaypointDisruptionBudget(scope, 'DisruptionBudget', props);
  }, synthOptions);
}
