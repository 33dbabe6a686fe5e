// The operator's reconcile loop as one unit: caches, a Lease-based leader election, and one work queue per
// reconciler. Queues run only while this process leads; events from the caches become keys (the owner of a
// changed object), never actions (STYLE §4).
import type { Gateway, Mesh } from '@ambit/codegen/crds';
import type { KubeConfig, KubernetesObject } from '@kubernetes/client-node';
import {
  COMPONENT_NAMESPACE,
  GATEWAY_NAME_LABEL,
  MESH_NAME,
  OWNER_KIND_LABEL,
  type ClusterFacts,
  type KubeObject,
} from '../render/contract.ts';
import type { MeshWarning } from '../translate/status.ts';
import { Applier } from './apply.ts';
import { operatorCaches, type ChangeHandler, type OperatorCaches } from './caches.ts';
import { LeaderElector } from './leader-election.ts';
import { MeshReconciler } from './mesh-reconciler.ts';
import { gatewayKey, GatewayReconciler, type GatewayRouteFacts } from './gateway-reconciler.ts';
import { WorkQueue } from './work-queue.ts';

export interface OperatorOptions {
  readonly kc: KubeConfig;
  /** Unique per replica (the pod name). */
  readonly identity: string;
  readonly facts: ClusterFacts;
  readonly renderMesh: (mesh: Mesh, facts: ClusterFacts) => KubeObject[];
  readonly renderWaypoint: (gateway: Gateway, mesh: Mesh, facts: ClusterFacts) => KubeObject[];
  readonly renderIngress: (gateway: Gateway, mesh: Mesh, facts: ClusterFacts) => KubeObject[];
  /** ReferenceGrants and attached-route counts for ingress Gateway status (from route translation). */
  readonly routeFacts?: () => GatewayRouteFacts;
  /** @default 'cluster.local' */
  readonly clusterDomain?: string;
  /** Namespace of the leader-election Lease. @default COMPONENT_NAMESPACE */
  readonly leaseNamespace?: string;
  /** Lease timings, shorter in tests. */
  readonly lease?: {
    durationMs?: number;
    renewEveryMs?: number;
    renewDeadlineMs?: number;
    retryEveryMs?: number;
  };
  readonly onWarnings?: (warnings: readonly MeshWarning[]) => void;
  /** Called when this replica becomes the leader (after its queues started). */
  readonly onStartedLeading?: () => void;
  readonly log?: (line: string) => void;
  readonly now?: () => Date;
}

export const LEASE_NAME = 'ambit-operator';

interface Queues {
  readonly mesh: WorkQueue<string>;
  readonly waypoints: WorkQueue<string>;
}

export class Operator {
  readonly caches: OperatorCaches;
  readonly applier: Applier;
  readonly meshReconciler: MeshReconciler;
  readonly gatewayReconciler: GatewayReconciler;
  readonly #elector: LeaderElector;
  readonly #log: (line: string) => void;
  #queues: Queues | undefined;

  constructor(o: OperatorOptions) {
    this.#log = o.log ?? ((l) => console.log(l));
    const now = o.now ?? (() => new Date());
    this.caches = operatorCaches(o.kc, this.#onChange, (kind, err) =>
      this.#log(`watch ${kind}: ${err instanceof Error ? err.message : String(err)}`),
    );
    this.applier = new Applier(o.kc);
    this.#elector = new LeaderElector({
      kc: o.kc,
      namespace: o.leaseNamespace ?? COMPONENT_NAMESPACE,
      name: LEASE_NAME,
      identity: o.identity,
      ...(o.lease?.durationMs ? { leaseDurationMs: o.lease.durationMs } : {}),
      ...(o.lease?.renewEveryMs ? { renewEveryMs: o.lease.renewEveryMs } : {}),
      ...(o.lease?.renewDeadlineMs ? { renewDeadlineMs: o.lease.renewDeadlineMs } : {}),
      ...(o.lease?.retryEveryMs ? { retryEveryMs: o.lease.retryEveryMs } : {}),
      onStartedLeading: () => {
        this.#startQueues();
        o.onStartedLeading?.();
      },
      onStoppedLeading: () => this.#stopQueues(),
      log: this.#log,
    });
    const isLeader = () => this.#elector.isLeader();
    this.meshReconciler = new MeshReconciler({
      kc: o.kc,
      caches: this.caches,
      applier: this.applier,
      facts: o.facts,
      render: o.renderMesh,
      isLeader,
      onWarnings: (w) => o.onWarnings?.(w),
      now,
      log: this.#log,
    });
    this.gatewayReconciler = new GatewayReconciler({
      kc: o.kc,
      caches: this.caches,
      applier: this.applier,
      facts: o.facts,
      renderWaypoint: o.renderWaypoint,
      renderIngress: o.renderIngress,
      ...(o.routeFacts ? { routeFacts: o.routeFacts } : {}),
      isLeader,
      clusterDomain: o.clusterDomain ?? 'cluster.local',
      now,
    });
  }

  async start(): Promise<void> {
    await this.caches.start();
    this.#elector.start();
  }

  /** Stops acting and releases the lease, so another replica takes over at once. */
  async stop(): Promise<void> {
    await this.#elector.stop();
    this.#stopQueues();
    await this.caches.stop();
  }

  isLeader(): boolean {
    return this.#elector.isLeader();
  }

  /** Resolves when no reconcile is queued or running (for tests and graceful shutdown). */
  async idle(): Promise<void> {
    const q = this.#queues;
    if (!q) return;
    await Promise.all([q.mesh.idle(), q.waypoints.idle()]);
  }

  #startQueues(): void {
    const log = this.#log;
    this.#queues = {
      mesh: new WorkQueue({ reconcile: this.meshReconciler.reconcile, log }),
      waypoints: new WorkQueue({ reconcile: this.gatewayReconciler.reconcile, log }),
    };
    // A new leader resyncs everything: it cannot know what the previous one finished.
    for (const m of this.caches.meshes.list()) this.#queues.mesh.add(m.metadata.name ?? '');
    this.#enqueueAllGateways();
  }

  #stopQueues(): void {
    this.#queues?.mesh.stop();
    this.#queues?.waypoints.stop();
    this.#queues = undefined;
  }

  /** Route attachments or ReferenceGrants may have changed (a new translation): ingress statuses follow. */
  routesChanged(): void {
    this.#enqueueAllGateways();
  }

  #enqueueAllGateways(): void {
    for (const g of this.caches.gateways.list()) {
      this.#queues?.waypoints.add(gatewayKey(g.metadata.namespace ?? '', g.metadata.name ?? ''));
    }
  }

  /** Maps a changed object to the keys whose desired state may depend on it. */
  readonly #onChange: ChangeHandler = (source, obj: KubernetesObject) => {
    this.applier.observed(obj); // every kind we apply is watched here (owned kinds and GatewayClasses)
    const q = this.#queues;
    if (!q) return;
    const name = obj.metadata?.name ?? '';
    const ns = obj.metadata?.namespace ?? '';
    switch (source) {
      case 'Mesh':
        q.mesh.add(name);
        this.#enqueueAllGateways(); // allowed namespaces, images
        return;
      case 'Gateway':
        q.waypoints.add(gatewayKey(ns, name));
        return;
      case 'GatewayClass':
        q.mesh.add(MESH_NAME);
        this.#enqueueAllGateways();
        return;
      case 'Namespace':
        for (const g of this.caches.gateways.list(name))
          q.waypoints.add(gatewayKey(name, g.metadata.name ?? ''));
        return;
      case 'Secret':
        q.mesh.add(MESH_NAME);
        return;
      case 'Owned': {
        // Any owned object counts towards the Mesh status (waypoints ready); a Gateway's also to its own status.
        const labels = obj.metadata?.labels ?? {};
        if (labels[OWNER_KIND_LABEL] === 'Gateway')
          q.waypoints.add(gatewayKey(ns, labels[GATEWAY_NAME_LABEL] ?? ''));
        q.mesh.add(MESH_NAME);
        return;
      }
    }
  };
}
