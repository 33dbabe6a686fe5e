// A waypoint: the L7 proxy Ambit provisions for a Gateway of a waypoint class, in the Gateway's namespace and
// under the Gateway's name (Istio's naming, so policies naming the waypoint's service account work unchanged).
import type { Gateway, Mesh } from '@ambit/codegen/crds';
import * as kplus from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { synth } from './chart.ts';
import {
  GATEWAY_NAME_LABEL,
  MANAGED_BY,
  MANAGED_BY_LABEL,
  OWNER_KIND_LABEL,
  type ClusterFacts,
  type KubeObject,
  type ObjectKind,
} from './contract.ts';
import { RenderError } from './errors.ts';
import { gatewayOwnerReference, NAME_LABEL, PART_OF, PART_OF_LABEL } from './labels.ts';
import {
  DOWNWARD_ENV,
  finishPodTemplate,
  mountControlPlaneCredentials,
  podLabels,
  proxyEnv,
  pullSecretFields,
  setPodSpecFields,
} from './pod-spec.ts';
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

/** The Istio proxy user: a fixed non-root uid, so file ownership in the image matches. */
const PROXY_USER = 1337;

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

function selectorLabels(name: string): Record<string, string> {
  return { [GATEWAY_NAME_LABEL]: name };
}

function objectMetadata(props: WaypointProps) {
  return { name: props.name, namespace: props.namespace, labels: { [NAME_LABEL]: props.name } };
}

/** The waypoint's ServiceAccount (its identity) and Deployment. */
export class WaypointDeployment extends Construct {
  constructor(scope: Construct, id: string, props: WaypointProps) {
    super(scope, id);
    const { container } = props;
    const metadata = objectMetadata(props);
    const serviceAccount = new kplus.ServiceAccount(this, 'ServiceAccount', {
      metadata,
      automountToken: false,
    });
    const deployment = new kplus.Deployment(this, 'Deployment', {
      metadata,
      replicas: 1,
      select: false,
      podMetadata: { labels: { ...podLabels(props.name), ...selectorLabels(props.name) } },
      serviceAccount,
      // Its only token is the projected control-plane one.
      automountServiceAccountToken: false,
      securityContext: { user: PROXY_USER, group: PROXY_USER, ensureNonRoot: true },
      containers: [
        {
          name: 'waypoint',
          image: container.image,
          imagePullPolicy: container.imagePullPolicy,
          ports: [
            { number: 15008, name: 'hbone' },
            { number: 15020, name: 'metrics' },
            { number: 15021, name: 'health' },
          ],
          readiness: kplus.Probe.fromHttpGet('/healthz/ready', { port: 15021 }),
          envVariables: {
            POD_NAME: DOWNWARD_ENV.POD_NAME,
            POD_NAMESPACE: DOWNWARD_ENV.POD_NAMESPACE,
            INSTANCE_IP: DOWNWARD_ENV.INSTANCE_IP,
            ...proxyEnv(props.trustDomain),
            WAYPOINT_NAME: kplus.EnvValue.fromValue(props.name),
            LOG_LEVEL: kplus.EnvValue.fromValue(container.logLevel),
          },
          // Meets the `restricted` Pod Security Standard, which the Gateway's namespace may enforce.
          securityContext: {
            user: PROXY_USER,
            group: PROXY_USER,
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
    deployment.select(kplus.LabelSelector.of({ labels: selectorLabels(props.name) }));
    setPodSpecFields(deployment, pullSecretFields(props.imagePullSecrets ?? []));
    mountControlPlaneCredentials(deployment);
    finishPodTemplate(deployment, container.resources);
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
  const owner = gatewayOwnerReference(gateway);
  const { name } = owner;
  const { namespace } = gateway.metadata;
  if (!namespace) {
    throw new RenderError('ERR_RENDER_OWNER_METADATA', `gateway ${name} has no metadata.namespace`);
  }
  const props: WaypointProps = {
    namespace,
    name,
    container: containerSettings(mesh.spec.waypoint, 'waypoint', facts, WAYPOINT_DEFAULT_RESOURCES),
    trustDomain: trustDomain(mesh.spec),
    imagePullSecrets: imagePullSecrets(mesh.spec),
  };
  return synth(
    (scope) => {
      new WaypointDeployment(scope, 'Deployment', props);
      new WaypointService(scope, 'Service', props);
      new WaypointDisruptionBudget(scope, 'DisruptionBudget', props);
    },
    {
      labels: {
        [MANAGED_BY_LABEL]: MANAGED_BY,
        [OWNER_KIND_LABEL]: 'Gateway',
        [GATEWAY_NAME_LABEL]: name,
        [PART_OF_LABEL]: PART_OF,
      },
      owner,
    },
  );
}
