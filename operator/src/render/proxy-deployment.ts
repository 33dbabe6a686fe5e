// The Deployment of a proxy Ambit provisions for a Gateway: a waypoint (east-west) or an ingress gateway
// (north-south). Both run as Istio's proxy user with a read-only root, no capabilities and the projected
// control-plane token as their only credential; they differ in name, ports and settings.
import * as kplus from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import type { Gateway, OwnerReference } from '@ambit/codegen/crds';
import {
  GATEWAY_NAME_LABEL,
  MANAGED_BY,
  MANAGED_BY_LABEL,
  OWNER_KIND_LABEL,
  PROXY_KIND_LABEL,
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
import type { ContainerSettings } from './settings.ts';

/** The Istio proxy user: a fixed non-root uid, so file ownership in the image matches. */
export const PROXY_USER = 1337;

export interface ProxyDeploymentProps {
  readonly namespace: string;
  /** Name of the Deployment, its ServiceAccount (the proxy's identity) and Service. */
  readonly name: string;
  /** The Gateway it serves: its pods carry GATEWAY_NAME_LABEL with this value, which every selector uses. */
  readonly gatewayName: string;
  readonly containerName: string;
  readonly container: ContainerSettings;
  readonly trustDomain: string;
  readonly ports: readonly { readonly number: number; readonly name: string }[];
  /** Settings of this kind of proxy, besides the downward-API and control-plane ones every proxy gets. */
  readonly env: Readonly<Record<string, kplus.EnvValue>>;
  /** Lets the non-root proxy bind ports below 1024 (an ingress listening on 80/443), as Istio's gateways do. */
  readonly bindsLowPorts?: boolean;
  /** Secrets to pull the image with, in the Gateway's namespace. */
  readonly imagePullSecrets?: readonly string[];
}

/** The pods' selector: the Gateway name label (selectors are immutable; this one never changes). */
export function proxySelector(gatewayName: string): Record<string, string> {
  return { [GATEWAY_NAME_LABEL]: gatewayName };
}

export function proxyObjectMetadata(p: { namespace: string; name: string }) {
  return { name: p.name, namespace: p.namespace, labels: { [NAME_LABEL]: p.name } };
}

/** The proxy's ServiceAccount (its identity) and Deployment. */
export class ProxyDeployment extends Construct {
  constructor(scope: Construct, id: string, props: ProxyDeploymentProps) {
    super(scope, id);
    const { container } = props;
    const metadata = proxyObjectMetadata(props);
    const serviceAccount = new kplus.ServiceAccount(this, 'ServiceAccount', {
      metadata,
      automountToken: false,
    });
    const deployment = new kplus.Deployment(this, 'Deployment', {
      metadata,
      replicas: 1,
      select: false,
      podMetadata: { labels: { ...podLabels(props.name), ...proxySelector(props.gatewayName) } },
      serviceAccount,
      // Its only token is the projected control-plane one.
      automountServiceAccountToken: false,
      securityContext: {
        user: PROXY_USER,
        group: PROXY_USER,
        ensureNonRoot: true,
        ...(props.bindsLowPorts
          ? { sysctls: [{ name: 'net.ipv4.ip_unprivileged_port_start', value: '0' }] }
          : {}),
      },
      containers: [
        {
          name: props.containerName,
          image: container.image,
          imagePullPolicy: container.imagePullPolicy,
          ports: props.ports.map((p) => ({ number: p.number, name: p.name })),
          readiness: kplus.Probe.fromHttpGet('/healthz/ready', { port: 15021 }),
          envVariables: {
            POD_NAME: DOWNWARD_ENV.POD_NAME,
            POD_NAMESPACE: DOWNWARD_ENV.POD_NAMESPACE,
            INSTANCE_IP: DOWNWARD_ENV.INSTANCE_IP,
            ...proxyEnv(props.trustDomain),
            ...props.env,
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
    deployment.select(kplus.LabelSelector.of({ labels: proxySelector(props.gatewayName) }));
    setPodSpecFields(deployment, pullSecretFields(props.imagePullSecrets ?? []));
    mountControlPlaneCredentials(deployment);
    finishPodTemplate(deployment, container.resources);
  }
}

/**
 * Where a Gateway's proxy objects go and what marks them: the Gateway's namespace, and the labels and owner
 * reference by which the reconciler finds (and prunes) them. Throws for a Gateway not read from the apiserver.
 */
export function gatewayProxyPlacement(gateway: Gateway, kind: 'waypoint' | 'gateway') {
  const owner: OwnerReference = gatewayOwnerReference(gateway);
  const { namespace } = gateway.metadata;
  if (!namespace) {
    throw new RenderError('ERR_RENDER_OWNER_METADATA', `gateway ${owner.name} has no metadata.namespace`);
  }
  return {
    namespace,
    gatewayName: owner.name,
    synthOptions: {
      labels: {
        [MANAGED_BY_LABEL]: MANAGED_BY,
        [OWNER_KIND_LABEL]: 'Gateway',
        [GATEWAY_NAME_LABEL]: owner.name,
        [PROXY_KIND_LABEL]: kind,
        [PART_OF_LABEL]: PART_OF,
      },
      owner,
    },
  };
}
