// What the operator may do, and nothing more: a ClusterRole for the objects it reads and manages cluster-wide, and
// a Role in COMPONENT_NAMESPACE for what must stay there (the CA's Secret, leader election, events).
//
// Kubernetes lets a subject grant only permissions it holds itself, so this ClusterRole includes everything the
// node agent's ClusterRole grants (pods and namespaces: get, list, watch) rather than the `bind`/`escalate` verbs.
import * as kplus from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { COMPONENT_NAMESPACE } from './contract.ts';
import { NAME_LABEL } from './labels.ts';
import { NODE_AGENT } from './node-agent.ts';
import { OPERATOR } from './operator-deployment.ts';

const READ = ['get', 'list', 'watch'];
const MANAGE = [...READ, 'create', 'update', 'patch', 'delete'];
const WRITE_STATUS = ['get', 'update', 'patch'];
/** Reconciled in place (finalizers, annotations) but never created or deleted by the operator. */
const UPDATE = [...READ, 'update', 'patch'];

const resource = (apiGroup: string, resourceType: string) =>
  kplus.ApiResource.custom({ apiGroup, resourceType });

/** One object of a kind, by name: `create` cannot be limited this way, updates and deletes can. */
function named(apiGroup: string, resourceType: string, resourceName: string): kplus.IApiEndpoint {
  return {
    asApiResource: () => ({ apiGroup, resourceType, resourceName }),
    asNonApiResource: () => undefined,
  };
}

const GATEWAY_API = 'gateway.networking.k8s.io';
const ISTIO_SECURITY = 'security.istio.io';
const ISTIO_NETWORKING = 'networking.istio.io';
const RBAC = 'rbac.authorization.k8s.io';

export interface OperatorRbacProps {
  /** The operator's ServiceAccount. */
  readonly serviceAccount: kplus.ServiceAccount;
}

export class OperatorRbac extends Construct {
  constructor(scope: Construct, id: string, props: OperatorRbacProps) {
    super(scope, id);
    const labels = { [NAME_LABEL]: OPERATOR };

    const cluster = new kplus.ClusterRole(this, 'ClusterRole', { metadata: { name: OPERATOR, labels } });
    // The Mesh: spec read, finalizer and status written. `meshes/finalizers` and `gateways/finalizers`: the
    // OwnerReferencesPermissionEnforcement admission plugin requires it to set blockOwnerDeletion on the objects
    // they own.
    cluster.allow(UPDATE, resource('ambit.dev', 'meshes'));
    cluster.allow(WRITE_STATUS, resource('ambit.dev', 'meshes/status'));
    cluster.allow(['update', 'patch'], resource('ambit.dev', 'meshes/finalizers'));
    // What a Mesh and a waypoint render to.
    cluster.allow(MANAGE, kplus.ApiResource.DAEMON_SETS, kplus.ApiResource.DEPLOYMENTS);
    cluster.allow(
      MANAGE,
      kplus.ApiResource.SERVICES,
      kplus.ApiResource.SERVICE_ACCOUNTS,
      kplus.ApiResource.POD_DISRUPTION_BUDGETS,
    );
    // The trust bundle `ambit-root-ca` (control-plane/root-store.ts): read and replaced in COMPONENT_NAMESPACE, and
    // copied into every namespace with a waypoint or gateway (listed cluster-wide by name, deleted with the last
    // Gateway). Written with create and replace only, never watched.
    cluster.allow(['get', 'list', 'create', 'update', 'delete'], kplus.ApiResource.CONFIG_MAPS);
    // The node agent's ClusterRole and binding: any may be read (pruning lists them by label), only ours changed.
    cluster.allow(
      [...READ, 'create'],
      kplus.ApiResource.CLUSTER_ROLES,
      kplus.ApiResource.CLUSTER_ROLE_BINDINGS,
    );
    cluster.allow(
      ['update', 'patch', 'delete'],
      named(RBAC, 'clusterroles', NODE_AGENT),
      named(RBAC, 'clusterrolebindings', NODE_AGENT),
    );
    // Translation inputs (DESIGN §4).
    cluster.allow(
      READ,
      kplus.ApiResource.PODS,
      kplus.ApiResource.NAMESPACES,
      kplus.ApiResource.ENDPOINT_SLICES,
    );
    // Gateway API: the classes it owns, Gateways it provisions, routes it translates; status on all of them.
    cluster.allow(MANAGE, resource(GATEWAY_API, 'gatewayclasses'));
    cluster.allow(UPDATE, resource(GATEWAY_API, 'gateways'));
    cluster.allow(['update'], resource(GATEWAY_API, 'gateways/finalizers'));
    cluster.allow(READ, resource(GATEWAY_API, 'httproutes'), resource(GATEWAY_API, 'grpcroutes'));
    cluster.allow(
      WRITE_STATUS,
      resource(GATEWAY_API, 'gatewayclasses/status'),
      resource(GATEWAY_API, 'gateways/status'),
      resource(GATEWAY_API, 'httproutes/status'),
      resource(GATEWAY_API, 'grpcroutes/status'),
    );
    // Istio's APIs, accepted unchanged: read, and status saying whether and where each object is enforced.
    cluster.allow(
      READ,
      resource(ISTIO_SECURITY, 'authorizationpolicies'),
      resource(ISTIO_SECURITY, 'peerauthentications'),
      resource(ISTIO_NETWORKING, 'virtualservices'),
      resource(ISTIO_NETWORKING, 'destinationrules'),
    );
    cluster.allow(
      WRITE_STATUS,
      resource(ISTIO_SECURITY, 'authorizationpolicies/status'),
      resource(ISTIO_SECURITY, 'peerauthentications/status'),
      resource(ISTIO_NETWORKING, 'virtualservices/status'),
      resource(ISTIO_NETWORKING, 'destinationrules/status'),
    );
    // Authenticating proxies by their service-account tokens (DESIGN §8).
    cluster.allow(['create'], kplus.ApiResource.TOKEN_REVIEWS);
    new kplus.ClusterRoleBinding(this, 'ClusterRoleBinding', {
      metadata: { name: OPERATOR, labels },
      role: cluster,
    }).addSubjects(props.serviceAccount);

    const local = new kplus.Role(this, 'Role', {
      metadata: { name: OPERATOR, namespace: COMPONENT_NAMESPACE, labels },
    });
    // The CA root (DESIGN §8): created once and rotated, never deleted by the operator.
    local.allow([...READ, 'create', 'update', 'patch'], kplus.ApiResource.SECRETS);
    // Leader election among the replicas.
    local.allow(['get', 'create', 'update'], kplus.ApiResource.LEASES);
    local.allow(['create', 'patch'], kplus.ApiResource.EVENTS, resource('events.k8s.io', 'events'));
    new kplus.RoleBinding(this, 'RoleBinding', {
      metadata: { name: OPERATOR, namespace: COMPONENT_NAMESPACE, labels },
      role: local,
    }).addSubjects(props.serviceAccount);
  }
}
