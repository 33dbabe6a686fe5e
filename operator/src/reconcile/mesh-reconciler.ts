// Reconciles the Mesh: check it, render everything it owns, apply what differs, prune what it no longer wants,
// write its status; on deletion remove everything the operator made and then the finalizer. Level-based: every
// call recomputes from the caches, whatever event caused it (STYLE §4, §5:
// get → gather → evaluate checks → render → apply/prune → build status → diff → write).
import type { GatewayClass, Mesh } from '@ambit/codegen/crds';
import {
  ApiException,
  CustomObjectsApi,
  PatchStrategy,
  setHeaderOptions,
  type KubeConfig,
  type KubernetesObject,
  type V1Deployment,
} from '@kubernetes/client-node';
import {
  GATEWAY_CONTROLLER,
  MANAGED_BY,
  MANAGED_BY_LABEL,
  MESH_NAME,
  OWNER_KIND_LABEL,
  PROXY_KIND_LABEL,
  WAYPOINT_CLASSES,
  WAYPOINT_CONTROLLER,
  type ClusterFacts,
  type KubeObject,
} from '../render/contract.ts';
import { Reason, type MeshWarning } from '../translate/status.ts';
import { apiErrorMessage } from '../api-error.ts';
import { FIELD_MANAGER, type Applier } from './apply.ts';
import { isOwnedKind, OWNED_KINDS, type OperatorCaches } from './caches.ts';
import { mergeConditions } from './conditions.ts';
import { checkMesh } from './mesh-checks.ts';
import { meshComponentStatus } from './mesh-status.ts';
import { isSubset } from './subset.ts';
import type { Result } from './work-queue.ts';

export const MESH_FINALIZER = 'ambit.dev/cleanup';
export const ZTUNNEL_DAEMONSET = 'ztunnel';
export const NODE_AGENT_DAEMONSET = 'ambit-node-agent';

export interface MeshReconcilerDeps {
  readonly kc: KubeConfig;
  readonly caches: OperatorCaches;
  readonly applier: Applier;
  readonly facts: ClusterFacts;
  render(mesh: Mesh, facts: ClusterFacts): KubeObject[];
  /** Refuses to act unless this process holds the lease (checked before every reconcile). */
  isLeader(): boolean;
  /** Problems of the installation itself (e.g. a foreign GatewayClass of our name), for the Mesh's warnings. */
  onWarnings(warnings: readonly MeshWarning[]): void;
  now(): Date;
  log(line: string): void;
}

const ourController = (className: string): string =>
  (WAYPOINT_CLASSES as readonly string[]).includes(className) ? WAYPOINT_CONTROLLER : GATEWAY_CONTROLLER;

function key(o: { kind?: string; metadata?: { name?: string; namespace?: string } }): string {
  return `${o.kind ?? ''}/${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`;
}

export class MeshReconciler {
  readonly #d: MeshReconcilerDeps;
  readonly #api: CustomObjectsApi;
  #warnings: readonly MeshWarning[] = [];

  constructor(deps: MeshReconcilerDeps) {
    this.#d = deps;
    this.#api = deps.kc.makeApiClient(CustomObjectsApi);
  }

  get warnings(): readonly MeshWarning[] {
    return this.#warnings;
  }

  readonly reconcile = async (name: string): Promise<Result> => {
    if (!this.#d.isLeader()) throw new Error('not the leader');
    const mesh = this.#d.caches.meshes.get(name);
    if (!mesh) return {};
    if (mesh.metadata.deletionTimestamp) {
      await this.#cleanup(mesh);
      return {};
    }
    const violation = checkMesh({ mesh, secrets: this.#secretKeys() });
    if (violation?.reason === 'NotDefault') {
      // Not ours to install: report and touch nothing else (no finalizer either).
      await this.#writeStatus(mesh, { violation });
      return {};
    }
    await this.#ensureFinalizer(mesh);
    let applyError: string | undefined;
    if (!violation) {
      try {
        await this.#applyDesired(mesh);
      } catch (err) {
        applyError = err instanceof Error ? err.message : String(err);
      }
    }
    await this.#writeStatus(mesh, { violation, applyError });
    // Thrown after the status says why, so the work queue retries with backoff.
    if (applyError) throw new Error(applyError);
    return {};
  };

  #secretKeys(): Map<string, string[]> {
    return new Map(
      this.#d.caches.secrets.list().map((s) => [s.metadata?.name ?? '', Object.keys(s.data ?? {})] as const),
    );
  }

  #live(o: KubeObject): KubernetesObject | undefined {
    const ns = o.metadata.namespace;
    if (o.kind === 'GatewayClass') return this.#d.caches.gatewayClasses.get(o.metadata.name);
    if (!isOwnedKind(o.kind)) return undefined;
    return this.#d.caches.owned[o.kind].get(o.metadata.name, ns);
  }

  /** Every labelled object of the owned kinds, with its kind set (list items carry none). */
  #allOwned(): KubernetesObject[] {
    return OWNED_KINDS.flatMap((k) => this.#d.caches.owned[k].list().map((o) => ({ ...o, kind: k })));
  }

  /** Objects this reconciler applied earlier (owner-kind Mesh), as the caches see them. */
  #ownedByMesh(): KubernetesObject[] {
    const mine = (o: KubernetesObject) =>
      o.metadata?.labels?.[MANAGED_BY_LABEL] === MANAGED_BY && o.metadata.labels[OWNER_KIND_LABEL] === 'Mesh';
    return [
      ...this.#allOwned(),
      ...this.#d.caches.gatewayClasses.list().map((o) => ({ ...o, kind: 'GatewayClass' })),
    ].filter(mine);
  }

  async #applyDesired(mesh: Mesh): Promise<void> {
    const warnings: MeshWarning[] = [];
    const desired = this.#d.render(mesh, this.#d.facts).filter((o) => {
      if (o.kind !== 'GatewayClass') return true;
      // A class of our name that another controller owns is left alone (DESIGN §8), and we say so.
      const live = this.#d.caches.gatewayClasses.get(o.metadata.name);
      const foreign = live && live.spec.controllerName !== ourController(o.metadata.name);
      if (foreign) {
        warnings.push({
          group: 'gateway.networking.k8s.io',
          kind: 'GatewayClass',
          namespace: '',
          name: o.metadata.name,
          reason: Reason.ForeignGatewayClass,
          message: `GatewayClass "${o.metadata.name}" belongs to controller "${live.spec.controllerName}"; Ambit does not serve Gateways of this class`,
        });
      }
      return !foreign;
    });
    for (const o of desired) await this.#d.applier.apply(o, this.#live(o));
    const wanted = new Set(desired.map(key));
    for (const o of this.#ownedByMesh()) {
      if (!wanted.has(key(o))) await this.#d.applier.delete(o);
    }
    await this.#acceptClasses(desired);
    if (JSON.stringify(warnings) !== JSON.stringify(this.#warnings)) {
      this.#warnings = warnings;
      this.#d.onWarnings(warnings);
    }
  }

  /** GatewayClass `Accepted=True` on the classes we serve, written only when not already so. */
  async #acceptClasses(desired: readonly KubeObject[]): Promise<void> {
    for (const o of desired.filter((d) => d.kind === 'GatewayClass')) {
      const live = this.#d.caches.gatewayClasses.get(o.metadata.name) as GatewayClass | undefined;
      const generation = live?.metadata.generation ?? 1;
      const conditions = mergeConditions(
        live?.status?.conditions,
        [
          {
            type: 'Accepted',
            status: 'True',
            reason: 'Accepted',
            message: 'Handled by Ambit',
            observedGeneration: generation,
          },
        ],
        this.#d.now(),
      );
      if (live && isSubset(conditions, live.status?.conditions)) continue;
      await this.#api.patchClusterCustomObjectStatus(
        {
          group: 'gateway.networking.k8s.io',
          version: 'v1',
          plural: 'gatewayclasses',
          name: o.metadata.name,
          body: {
            apiVersion: 'gateway.networking.k8s.io/v1',
            kind: 'GatewayClass',
            metadata: { name: o.metadata.name },
            status: { conditions },
          },
          fieldManager: FIELD_MANAGER,
          force: true,
        },
        setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply),
      );
    }
  }

  async #writeStatus(
    mesh: Mesh,
    problems: { violation?: ReturnType<typeof checkMesh>; applyError?: string },
  ): Promise<void> {
    const owned = this.#d.caches.owned;
    const waypoints = (owned.Deployment.list() as V1Deployment[]).filter(
      (d) =>
        d.metadata?.labels?.[OWNER_KIND_LABEL] === 'Gateway' &&
        d.metadata.labels[PROXY_KIND_LABEL] !== 'gateway',
    );
    const status = meshComponentStatus(
      {
        generation: mesh.metadata.generation ?? 0,
        previousConditions: mesh.status?.conditions,
        ...(problems.violation ? { violation: problems.violation } : {}),
        ...(problems.applyError ? { applyError: problems.applyError } : {}),
        ztunnel: owned.DaemonSet.get(ZTUNNEL_DAEMONSET, 'ambit-system'),
        nodeAgent: owned.DaemonSet.get(NODE_AGENT_DAEMONSET, 'ambit-system'),
        waypoints,
      },
      this.#d.now(),
    );
    if (mesh.status && isSubset(status, mesh.status)) return;
    await this.#api.patchClusterCustomObjectStatus(
      {
        group: 'ambit.dev',
        version: 'v1alpha1',
        plural: 'meshes',
        name: mesh.metadata.name ?? MESH_NAME,
        body: {
          apiVersion: 'ambit.dev/v1alpha1',
          kind: 'Mesh',
          metadata: { name: mesh.metadata.name },
          status,
        },
        fieldManager: FIELD_MANAGER,
        force: true,
      },
      setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply),
    );
  }

  async #ensureFinalizer(mesh: Mesh): Promise<void> {
    const finalizers = mesh.metadata.finalizers ?? [];
    if (finalizers.includes(MESH_FINALIZER)) return;
    await this.#patchFinalizers(mesh, [...finalizers, MESH_FINALIZER]);
  }

  /**
   * JSON patch guarded by resourceVersion: a concurrent edit (or a cache that lags our own status write) fails its
   * `test` op with 422, and the queue retries from the fresh object.
   */
  async #patchFinalizers(mesh: Mesh, finalizers: string[]): Promise<void> {
    try {
      await this.#patchFinalizersOnce(mesh, finalizers);
    } catch (err) {
      if (err instanceof ApiException && err.code === 422) {
        throw new Error(
          `Mesh ${mesh.metadata.name ?? ''} changed since it was read; retrying its finalizer`,
          {
            cause: err,
          },
        );
      }
      throw err;
    }
  }

  async #patchFinalizersOnce(mesh: Mesh, finalizers: string[]): Promise<void> {
    await this.#api.patchClusterCustomObject(
      {
        group: 'ambit.dev',
        version: 'v1alpha1',
        plural: 'meshes',
        name: mesh.metadata.name ?? MESH_NAME,
        body: [
          { op: 'test', path: '/metadata/resourceVersion', value: mesh.metadata.resourceVersion },
          { op: 'add', path: '/metadata/finalizers', value: finalizers },
        ],
      },
      setHeaderOptions('Content-Type', PatchStrategy.JsonPatch),
    );
  }

  /**
   * Deletes everything the operator made — the Mesh's objects and every waypoint's — then lets the Mesh go.
   * User objects (Gateways, policies, namespaces) are left as they are.
   */
  async #cleanup(mesh: Mesh): Promise<void> {
    if (!(mesh.metadata.finalizers ?? []).includes(MESH_FINALIZER)) return;
    const everything = [
      ...this.#allOwned(),
      ...this.#d.caches.gatewayClasses
        .list()
        .filter((c) => c.metadata.labels?.[MANAGED_BY_LABEL] === MANAGED_BY)
        .map((o) => ({ ...o, kind: 'GatewayClass' })),
    ];
    for (const o of everything) await this.#d.applier.delete(o);
    try {
      await this.#patchFinalizers(
        mesh,
        (mesh.metadata.finalizers ?? []).filter((f) => f !== MESH_FINALIZER),
      );
    } catch (err) {
      if (err instanceof ApiException && err.code === 404) return;
      throw new Error(`removing the finalizer of Mesh ${mesh.metadata.name ?? ''}: ${apiErrorMessage(err)}`, {
        cause: err,
      });
    }
    this.#d.log(
      `mesh ${mesh.metadata.name ?? ''}: deleted ${everything.length} objects and released the Mesh`,
    );
  }
}
