// The Mesh status fields the Mesh reconciler owns (conditions, ztunnels, waypoints), computed from what it
// observed (pure). The config engine owns config, warnings, enrolled namespaces and workloads under its own field
// manager, so the two writers never contend.
import type { V1DaemonSet, V1Deployment } from '@kubernetes/client-node';
import { mergeConditions, type Condition, type ConditionInput } from './conditions.ts';
import type { Violation } from './mesh-checks.ts';

export interface MeshObservation {
  readonly generation: number;
  readonly previousConditions: readonly Partial<Condition>[] | undefined;
  /** The spec fails a check: nothing was applied. */
  readonly violation?: Violation;
  /** Applying the rendered objects failed (will be retried). */
  readonly applyError?: string;
  readonly ztunnel: V1DaemonSet | undefined;
  readonly nodeAgent: V1DaemonSet | undefined;
  /** Provisioned waypoint Deployments. */
  readonly waypoints: readonly V1Deployment[];
}

export interface MeshComponentStatus {
  observedGeneration: number;
  conditions: Condition[];
  ztunnels: { desired: number; ready: number; summary: string };
  waypoints: { total: number; ready: number; summary: string };
}

interface Rollout {
  readonly desired: number;
  readonly ready: number;
  /** All pods run the current template and the controller has seen the current spec. */
  readonly done: boolean;
}

function daemonSetRollout(ds: V1DaemonSet | undefined): Rollout {
  const s = ds?.status;
  const desired = s?.desiredNumberScheduled ?? 0;
  const ready = s?.numberReady ?? 0;
  const seen = (s?.observedGeneration ?? 0) >= (ds?.metadata?.generation ?? 0);
  return {
    desired,
    ready,
    done: !!ds && seen && (s?.updatedNumberScheduled ?? 0) >= desired && ready >= desired,
  };
}

function deploymentReady(d: V1Deployment): boolean {
  return (d.status?.readyReplicas ?? 0) >= (d.spec?.replicas ?? 1);
}

export function meshComponentStatus(o: MeshObservation, now: Date): MeshComponentStatus {
  const z = daemonSetRollout(o.ztunnel);
  const n = daemonSetRollout(o.nodeAgent);
  const wReady = o.waypoints.filter(deploymentReady).length;
  const g = o.generation;
  const problem =
    o.violation ?? (o.applyError ? { reason: 'ApplyFailed', message: o.applyError } : undefined);

  const degraded: ConditionInput = problem
    ? { type: 'Degraded', status: 'True', observedGeneration: g, ...problem }
    : {
        type: 'Degraded',
        status: 'False',
        observedGeneration: g,
        reason: 'AsExpected',
        message: 'no problems',
      };
  const progress = `ztunnel ${z.ready}/${z.desired} ready, node agent ${n.ready}/${n.desired} ready`;
  const rolling = !problem && !(z.done && n.done);
  const progressing: ConditionInput = rolling
    ? { type: 'Progressing', status: 'True', observedGeneration: g, reason: 'RollingOut', message: progress }
    : {
        type: 'Progressing',
        status: 'False',
        observedGeneration: g,
        reason: problem ? 'Blocked' : 'RolledOut',
        message: problem ? 'not rolling out while Degraded' : progress,
      };
  const ready: ConditionInput =
    !problem && z.done && n.done
      ? { type: 'Ready', status: 'True', observedGeneration: g, reason: 'ComponentsReady', message: progress }
      : {
          type: 'Ready',
          status: 'False',
          observedGeneration: g,
          reason: problem ? problem.reason : 'ComponentsNotReady',
          message: problem ? problem.message : progress,
        };

  return {
    observedGeneration: g,
    conditions: mergeConditions(o.previousConditions, [ready, progressing, degraded], now),
    ztunnels: { desired: z.desired, ready: z.ready, summary: `${z.ready}/${z.desired}` },
    waypoints: { total: o.waypoints.length, ready: wReady, summary: `${wReady}/${o.waypoints.length}` },
  };
}
