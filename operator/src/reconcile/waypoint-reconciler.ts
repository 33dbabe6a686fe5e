// Reconciles one Gateway of a waypoint class (key `namespace/name`): admit it (Mesh exists, namespace allowed,
// HBONE listener), render and apply its Deployment, Service, ServiceAccount and PodDisruptionBudget, prune what it
// no longer needs (all of it when refused or gone), and write the Gateway's status. Gateways of other classes are
// not ours: their status is never touched.
import type { Gateway, Mesh } from '@ambit/codegen/crds';
import { CustomObjectsApi, PatchStrategy, setHeaderOptions, type KubeConfig } from '@kubernetes/client-node';
import {
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
import { isSubset } from './subset.ts';
import { admitWaypoint } from './waypoint-admission.ts';
import type { Result } from './work-queue.ts';

export interface WaypointReconcilerDeps {
  readonly kc: KubeConfig;
  readonly caches: OperatorCaches;
  readonly applier: Applier;
  readonly facts: ClusterFacts;
  render(gateway: Gateway, mesh: Mesh, facts: ClusterFacts): KubeObject[];
  isLeader(): boolean;
  readonly clusterDomain: string;
  now(): Date;
}

export function gatewayKey(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}

export class WaypointReconciler {
  readonly #d: WaypointReconcilerDeps;
  readonly #api: CustomObjectsApi;

  constructor(deps: WaypointReconcilerDeps) {
    this.#d = deps;
    this.#api = deps.kc.makeApiClient(CustomObjectsApi);
  }

  /** Whether a Gateway is a waypoint we serve: a waypoint class whose GatewayClass names our controller. */
  isOurs(gw: Gateway): boolean {
    const cls = gw.spec.gatewayClassName;
    if (!(WAYPOINT_CLASSES as readonly string[]).includes(cls)) return false;
    return this.#d.caches.gatewayClasses.get(cls)?.spec.controllerName === WAYPOINT_CONTROLLER;
  }

  readonly reconcile = async (key: string): Promise<Result> => {
    if (!this.#d.isLeader()) throw new Error('not the leader');
    const [namespace = '', name = ''] = key.split('/');
    const gw = this.#d.caches.gateways.get(name, namespace);
    if (!gw || gw.metadata.deletionTimestamp || !this.isOurs(gw)) {
      await this.#prune(namespace, name, []);
      return {};
    }
    const mesh = this.#d.caches.meshes.get(MESH_NAME);
    const nsLabels = this.#d.caches.namespaces.get(namespace)?.metadata?.labels;
    const admission = admitWaypoint(gw, mesh, nsLabels);
    const desired = admission.admitted && mesh ? this.#d.render(gw, mesh, this.#d.facts) : [];
    for (const o of desired) {
      if (isOwnedKind(o.kind))
        await this.#d.applier.apply(o, this.#d.caches.owned[o.kind].get(o.metadata.name, namespace));
    }
    await this.#prune(namespace, name, desired);
    const service = this.#d.caches.owned.Service.get(name, namespace);
    const status = waypointGatewayStatus(gw, admission, service, this.#d.clusterDomain, this.#d.now());
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
