// The kinds codegen turns into TypeScript types and validators: our Mesh and the user APIs Ambit consumes.

/** One kind at one version, found in a CRD file under crds/. */
export interface GeneratedKind {
  /** CRD file, relative to crds/. */
  readonly source: string;
  readonly group: string;
  readonly version: string;
  readonly kind: string;
}

const istio = 'upstream/istio/customresourcedefinitions.gen.yaml';
const gatewayApi = (plural: string) => `upstream/gateway-api/gateway.networking.k8s.io_${plural}.yaml`;

export const generatedKinds: readonly GeneratedKind[] = [
  { source: 'ambit.dev_meshes.yaml', group: 'ambit.dev', version: 'v1alpha1', kind: 'Mesh' },
  { source: istio, group: 'security.istio.io', version: 'v1', kind: 'AuthorizationPolicy' },
  { source: istio, group: 'security.istio.io', version: 'v1', kind: 'PeerAuthentication' },
  { source: istio, group: 'networking.istio.io', version: 'v1', kind: 'VirtualService' },
  { source: istio, group: 'networking.istio.io', version: 'v1', kind: 'DestinationRule' },
  {
    source: gatewayApi('gatewayclasses'),
    group: 'gateway.networking.k8s.io',
    version: 'v1',
    kind: 'GatewayClass',
  },
  { source: gatewayApi('gateways'), group: 'gateway.networking.k8s.io', version: 'v1', kind: 'Gateway' },
  { source: gatewayApi('httproutes'), group: 'gateway.networking.k8s.io', version: 'v1', kind: 'HTTPRoute' },
  { source: gatewayApi('grpcroutes'), group: 'gateway.networking.k8s.io', version: 'v1', kind: 'GRPCRoute' },
  {
    source: gatewayApi('referencegrants'),
    group: 'gateway.networking.k8s.io',
    version: 'v1beta1',
    kind: 'ReferenceGrant',
  },
];
