// Reconciles one Gateway of an Ambit class (key `namespace/name`): a waypoint (`ambit-waypoint`/`istio-waypoint`)
// or an ingress gateway (`ambit`/`istio`). Admit it (Mesh exists, namespace allowed, and the family's own checks),
// render and apply its proxy's objects, prune what it no longer needs (all of it when refused or gone), and write
// the Gateway's status. Gateways of other classes, or of our class names owned by another controller, are not ours:
// their status is never touched.
import type { Gateway, Mesh, ReferenceGrant } from '@ambit/codegen/crds';
import { CustomObjectsApi, PatchStrategy, setHeaderOptions, type KubeConfig } from '@kubernetes/client-node';
import { ingressObjectName } from '../render/ingress-gateway.ts';
import {
  GATEWAY_CLASSES,
  GATEWAY_CONTROLLER,
  GATEWAY_NAME_LABEL,
  MANAGED_BY,
  MANAGED_BY_LABEL,
  MESH_NAME,
  OWNER_KIND_LABEL,
  WAYPOINT_CLASSES,
  WAYPOINT_CONTROLLER,
  type ClusterFacts,
  type KubeObject,
} from '../render/contract.ts';
import { FIELD_MANAGER, type Applier } from './apply.ts';
import { isOwnedKind, OWNED_KINDS, type OperatorCaches } from './caches.ts';
import { waypointGatewayStatus } from './gateway-status.ts';
import { ingressGatewayStatus } from './ingress-gateway-status.ts';
import { isSubset } from './subset.ts';
import { admitIngressGateway, admitWaypoint } from './waypoint-admission.ts';
import type { Result } from './work-queue.ts';

/** What an ingress Gateway's status needs from route translation and the ReferenceGrants in the cluster. */
export interface GatewayRouteFacts {
  readonly referenceGrants: readonly ReferenceGrant[];
  /** HTTPRoutes and GRPCRoutes attached to one listener of a Gateway. */
  attachedRoutes(namespace: string, gateway: string, listener: string): number;
}

export interface GatewayReconcilerDeps {
  readonly kc: KubeConfig;
  readonly caches: OperatorCaches;
  readonly applier: Applier;
  readonly facts: ClusterFacts;
  readonly renderWaypoint: (gateway: Gateway, mesh: Mesh, facts: ClusterFacts) => KubeObject[];
  readonly renderIngress: (gateway: Gateway, mesh: Mesh, facts: ClusterFacts) => KubeObject[];
  /** @default no grants, no attached routes */
  routeFacts?(): GatewayRouteFacts;
  isLeader(): boolean;
  readonly clusterDomain: string;
  now(): Date;
}

const NO_ROUTE_FACTS: GatewayRouteFacts = { referenceGrants: [], attachedRoutes: () => 0 };

/** Which of our families a Gateway class belongs to, if any. */
export function gatewayFamily(className: string): 'waypoint' | 'ingress' | undefined {
  if ((WAYPOINT_CLASSES as readonly string[]).includes(className)) return 'waypoint';
  if ((GATEWAY_CLASSES as readonly string[]).includes(className)) return 'ingress';
  return undefined;
}

export function gatewayKey(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}

export class GatewayReconciler {
  readonly #d: GatewayReconcilerDeps;
  readonly #api: CustomObjectsApi;

  constructor(deps: GatewayReconcilerDeps) {
    this.#d = deps;
    this.#api = deps.kc.makeApiClient(CustomObjectsApi);
  }

  /** Whether a Gateway is ours: a class of one of our families whose GatewayClass names our controller. */
  isOurs(gw: Gateway): boolean {
    const cls = gw.spec.gatewayClassName;
    const family = gatewayFamily(cls);
    if (!family) return false;
    const controller = family === 'waypoint' ? WAYPOINT_CONTROLLER : GATEWAY_CONTROLLER;
    return this.#d.caches.gatewayClasses.get(cls)?.spec.controllerName === controller;
  }

  readonly reconcile = async (key: string): Promise<Result> => {
    if (!this.#d.isLeader()) throw new Error('not the leader');
    const [namespace = '', name = ''] = key.split('/');
    const gw = this.#d.caches.gateways.get(name, namespace);
    if (!gw || gw.metadata.deletionTimestamp || !this.isOurs(gw)) {
      await this.#prune(namespace, name, []);
      return {};
    }
    const ingress = gatewayFamily(gw.spec.gatewayClassName) === 'ingress';
    const mesh = this.#d.caches.meshes.get(MESH_NAME);
    const nsLabels = this.#d.caches.namespaces.get(namespace)?.metadata?.labels;
    const admission = ingress ? admitIngressGateway(gw, mesh, nsLabels) : admitWaypoint(gw, mesh, nsLabels);
    const render = ingress ? this.#d.renderIngress : this.#d.renderWaypoint;
    const desired = admission.admitted && mesh ? render(gw, mesh, this.#d.facts) : [];
    for (const o of desired) {
      if (isOwnedKind(o.kind))
        await this.#d.applier.apply(o, this.#d.caches.owned[o.kind].get(o.metadata.name, namespace));
    }
    await this.#prune(namespace, name, desired);
    const now = this.#d.now();
    let status;
    if (ingress) {
      const facts = this.#d.routeFacts?.() ?? NO_ROUTE_FACTS;
      status = ingressGatewayStatus({
        gateway: gw,
        admission,
        service: this.#d.caches.owned.Service.get(ingressObjectName(gw), namespace),
        referenceGrants: facts.referenceGrants,
        attachedRoutes: (listener) => facts.attachedRoutes(namespace, name, listener),
        now,
      });
    } else {
      const service = this.#d.caches.owned.Service.get(name, namespace);
      status = waypointGatewayStatus(gw, admission, service, this.#d.clusterDomain, now);
    }
    // `addresses` left over from when the Gateway was programmed must go: compare the whole of what we write.
    const stale = !status.addresses && (gw.status?.addresses?.length ?? 0) > 0;
    if (!stale && gw.status && isSubset(status, gw.status)) return {};
    await this.#api.patchNamespacedCustomObjectStatus(
      {
        group: 'gateway.networking.k8s.io',
        version: 'v1',
        plural: 'gateways',
        namespace,
        name,
        body: {
          apiVersion: 'gateway.networking.k8s.io/v1',
          kind: 'Gateway',
          metadata: { name, namespace },
          status,
        },
        fieldManager: FIELD_MANAGER,
        force: true,
      },
      setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply),
    );
    return {};
  };

  /** Deletes this Gateway's objects that are not in `desired`. */
  async #prune(namespace: string, name: string, desired: readonly KubeObject[]): Promise<void> {
    const wanted = new Set(desired.map((o) => `${o.kind}/${o.metadata.name}`));
    for (const kind of OWNED_KINDS) {
      for (const o of this.#d.caches.owned[kind].list(namespace)) {
        const labels = o.metadata?.labels ?? {};
        const ours =
          labels[MANAGED_BY_LABEL] === MANAGED_BY &&
          labels[OWNER_KIND_LABEL] === 'Gateway' &&
          labels[GATEWAY_NAME_LABEL] === name;
        if (ours && !wanted.has(`${kind}/${o.metadata?.name ?? ''}`)) {
          await this.#d.applier.delete({ ...o, kind });
        }
      }
    }
  }
}
