// An ingress gateway: the north-south proxy Ambit provisions for a Gateway of class `ambit` or `istio`, named
// `<gateway>-<class>` as Istio names it, so a policy naming `cluster.local/ns/<ns>/sa/<gateway>-istio` and a client
// calling `<gateway>-istio.<ns>` work unchanged (DESIGN §3).
import type { Gateway, Mesh } from '@ambit/codegen/crds';
import * as kplus from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { synth } from './chart.ts';
import { type ClusterFacts, type KubeObject, type ObjectKind } from './contract.ts';
import { RenderError } from './errors.ts';
import {
  gatewayProxyPlacement,
  ProxyDeployment,
  proxyObjectMetadata,
  proxySelector,
} from './proxy-deployment.ts';
import { containerSettings, imagePullSecrets, trustDomain, type Resources } from './settings.ts';

/** Every kind renderIngressGateway emits: what the Gateway reconciler lists (by MANAGED_BY_LABEL) to prune. */
export const ingressGatewayObjectKinds: readonly ObjectKind[] = [
  { apiVersion: 'v1', kind: 'ServiceAccount' },
  { apiVersion: 'v1', kind: 'Service' },
  { apiVersion: 'apps/v1', kind: 'Deployment' },
];

/** Requests when the Mesh sets none (an ingress does a waypoint's work per request). No limits. */
export const GATEWAY_DEFAULT_RESOURCES: Resources = { requests: { cpu: '100m', memory: '128Mi' } };

/** Istio's annotation choosing the gateway Service's type. */
export const SERVICE_TYPE_ANNOTATION = 'networking.istio.io/service-type';
const SERVICE_TYPES = ['ClusterIP', 'NodePort', 'LoadBalancer'] as const;
export type GatewayServiceType = (typeof SERVICE_TYPES)[number];

/** The Service type the Gateway asks for (LoadBalancer unless the annotation says otherwise), or why it is wrong. */
export function gatewayServiceType(
  gw: Gateway,
): { ok: true; type: GatewayServiceType } | { ok: false; message: string } {
  const raw = gw.metadata.annotations?.[SERVICE_TYPE_ANNOTATION];
  if (raw === undefined) return { ok: true, type: 'LoadBalancer' };
  const type = SERVICE_TYPES.find((t) => t === raw);
  if (type) return { ok: true, type };
  return {
    ok: false,
    message: `metadata.annotations["${SERVICE_TYPE_ANNOTATION}"]: "${raw}" is not one of ${SERVICE_TYPES.join(', ')}`,
  };
}

/** `<gateway>-<class>`: the name of the proxy's Deployment, Service and ServiceAccount. */
export function ingressObjectName(gw: Gateway): string {
  return `${gw.metadata.name ?? ''}-${gw.spec.gatewayClassName}`;
}

/** The Service ports: one per distinct listener port (named by its first listener), and Istio's status port. */
export function listenerServicePorts(gw: Gateway): { name: string; port: number }[] {
  const out: { name: string; port: number }[] = [];
  for (const l of gw.spec.listeners) {
    if (!out.some((p) => p.port === l.port)) out.push({ name: l.name, port: l.port });
  }
  if (!out.some((p) => p.port === 15021)) out.push({ name: 'status-port', port: 15021 });
  return out;
}

interface IngressProps {
  readonly namespace: string;
  readonly name: string;
  readonly gateway: Gateway;
  readonly serviceType: GatewayServiceType;
}

class IngressService extends Construct {
  constructor(scope: Construct, id: string, props: IngressProps) {
    super(scope, id);
    new kplus.k8s.KubeService(this, 'Service', {
      metadata: proxyObjectMetadata(props),
      spec: {
        type: props.serviceType,
        selector: proxySelector(props.gateway.metadata.name ?? ''),
        ports: listenerServicePorts(props.gateway).map((p) => ({
          name: p.name,
          port: p.port,
          protocol: 'TCP',
          targetPort: kplus.k8s.IntOrString.fromNumber(p.port),
        })),
      },
    });
  }
}

/**
 * The objects of the ingress gateway for `gateway` (admitted by the reconciler: Mesh present, namespace allowed,
 * valid Service type), labelled as managed by the operator and owned by the Gateway.
 */
export function renderIngressGateway(gateway: Gateway, mesh: Mesh, facts: ClusterFacts): KubeObject[] {
  const { namespace, gatewayName, synthOptions } = gatewayProxyPlacement(gateway, 'gateway');
  const serviceType = gatewayServiceType(gateway);
  if (!serviceType.ok)
    throw new RenderError('ERR_RENDER_SETTINGS', `gateway ${gatewayName}: ${serviceType.message}`);
  const name = ingressObjectName(gateway);
  const container = containerSettings(mesh.spec.gateway, 'gateway', facts, GATEWAY_DEFAULT_RESOURCES);
  const listenerPorts = listenerServicePorts(gateway).filter((p) => p.port !== 15021);
  return synth((scope) => {
    new ProxyDeployment(scope, 'Deployment', {
      namespace,
      name,
      gatewayName,
      containerName: 'gateway',
      container,
      trustDomain: trustDomain(mesh.spec),
      ports: [
        ...listenerPorts.map((p) => ({ number: p.port, name: `listener-${p.port}` })),
        { number: 15020, name: 'metrics' },
        { number: 15021, name: 'health' },
      ],
      env: {
        GATEWAY_NAME: kplus.EnvValue.fromValue(gatewayName),
        GATEWAY_CLASS: kplus.EnvValue.fromValue(gateway.spec.gatewayClassName),
      },
      bindsLowPorts: listenerPorts.some((p) => p.port < 1024),
      imagePullSecrets: imagePullSecrets(mesh.spec),
    });
    new IngressService(scope, 'Service', { namespace, name, gateway, serviceType: serviceType.type });
  }, synthOptions);
}
