// Pure: the pod status the kubelet reports (generateAPIPodStatus, getPhase) from its records and plan.
import type { V1Container, V1Pod } from '@kubernetes/client-node';
import { apiTime } from './api-time.ts';
import type { PodPlan } from './pod-plan.ts';
import type { ContainerRecord, TerminatedRun, Waiting } from './pod-state.ts';

/** The pod phases (core/v1 PodPhase). */
export type PodPhase = 'Pending' | 'Running' | 'Succeeded' | 'Failed';

/** A pod condition as written (times are API strings). */
export interface ApiPodCondition {
  readonly type: string;
  readonly status: 'True' | 'False' | 'Unknown';
  readonly lastProbeTime: null;
  readonly lastTransitionTime: string;
  readonly reason?: string;
  readonly message?: string;
  readonly observedGeneration?: number;
}

export interface ApiContainerState {
  readonly running?: { readonly startedAt: string };
  readonly waiting?: { readonly reason: string; readonly message?: string };
  readonly terminated?: {
    readonly exitCode: number;
    readonly reason: string;
    readonly message?: string;
    readonly startedAt: string;
    readonly finishedAt: string;
    readonly containerID: string;
  };
}

export interface ApiContainerStatus {
  readonly name: string;
  readonly image: string;
  readonly imageID: string;
  readonly containerID?: string;
  readonly ready: boolean;
  readonly started: boolean;
  readonly restartCount: number;
  readonly state: ApiContainerState;
  readonly lastState: ApiContainerState;
}

/** The `status` the kubelet writes (strategic merge: conditions merge by type, container lists are replaced). */
export interface ApiPodStatus {
  readonly observedGeneration?: number;
  readonly phase: PodPhase;
  readonly conditions: readonly ApiPodCondition[];
  readonly hostIP: string;
  readonly hostIPs: readonly { readonly ip: string }[];
  readonly podIP?: string;
  readonly podIPs?: readonly { readonly ip: string }[];
  readonly startTime?: string;
  readonly initContainerStatuses?: readonly ApiContainerStatus[];
  readonly containerStatuses: readonly ApiContainerStatus[];
}

export interface PodStatusInput {
  readonly pod: V1Pod;
  readonly records: ReadonlyMap<string, ContainerRecord>;
  readonly plan: Pick<PodPlan, 'waiting' | 'initialized' | 'initFailed'>;
  readonly hostIP: string;
  /** Once the sandbox has its address. */
  readonly podIP: string | undefined;
  /** The sandbox exists with its network (PodReadyToStartContainers). */
  readonly sandboxReady: boolean;
  /** When the kubelet first took the pod on (epoch ms). */
  readonly startTime: number | undefined;
  /** The pod's containers were stopped for good because it is being deleted: its phase becomes terminal. */
  readonly terminated: boolean;
  /** The last status written, whose transition times carry over for unchanged conditions. */
  readonly previous: ApiPodStatus | undefined;
  readonly now: number;
}

/** Conditions the kubelet owns; others (PodScheduled, DisruptionTarget, readiness gates) are left to their writers. */
export const KUBELET_CONDITIONS = ['PodReadyToStartContainers', 'Initialized', 'ContainersReady', 'Ready'];

function terminatedState(t: TerminatedRun): ApiContainerState {
  return {
    terminated: {
      exitCode: t.exitCode,
      reason: t.reason,
      ...(t.message === undefined ? {} : { message: t.message }),
      startedAt: apiTime(t.startedAt),
      finishedAt: apiTime(t.finishedAt),
      containerID: t.containerID,
    },
  };
}

/** A successfully completed init container reports ready, as the kubelet does. */
function initSucceeded(rec: ContainerRecord | undefined): boolean {
  return rec?.running === undefined && rec?.last?.exitCode === 0;
}

/**
 * One container's status:
 * 1. running → `running`, lastState the latest ended run;
 * 2. waiting for something (back-off, pull, init) → `waiting`, lastState the latest ended run;
 * 3. ended for good → `terminated` with that run, lastState the run before;
 * 4. not started yet → waiting `ContainerCreating`.
 */
export function containerStatus(
  c: V1Container,
  rec: ContainerRecord | undefined,
  waiting: Waiting | undefined,
): ApiContainerStatus {
  const running = rec?.running;
  const last = rec?.last;
  let state: ApiContainerState;
  let lastState: ApiContainerState = last === undefined ? {} : terminatedState(last);
  if (running !== undefined) {
    state = { running: { startedAt: apiTime(running.startedAt) } };
  } else if (waiting !== undefined) {
    state = {
      waiting: {
        reason: waiting.reason,
        ...(waiting.message === undefined ? {} : { message: waiting.message }),
      },
    };
  } else if (last !== undefined) {
    state = terminatedState(last);
    lastState = rec?.previous === undefined ? {} : terminatedState(rec.previous);
  } else {
    state = { waiting: { reason: 'ContainerCreating' } };
  }
  const containerID = running?.containerID ?? last?.containerID;
  const kind = rec?.kind ?? 'regular';
  return {
    name: c.name,
    image: rec?.image?.ref ?? c.image ?? '',
    imageID: rec?.image?.id ?? '',
    ...(containerID === undefined ? {} : { containerID }),
    ready:
      running !== undefined
        ? running.ready && running.stopping === undefined
        : kind === 'init' && initSucceeded(rec),
    started: running?.started ?? false,
    restartCount: rec?.restartCount ?? 0,
    state,
    lastState,
  };
}

/**
 * The phase (kubelet getPhase):
 * 1. an init container failed under Never → Failed; init not done → Pending;
 * 2. any regular container waiting without having run → Pending;
 * 3. some running (and none unknown) → Running;
 * 4. none running, some ended: a terminated pod or restartPolicy Never/OnFailure with all succeeded → Succeeded;
 *    Never with a failure, or a terminated pod with a failure → Failed; otherwise (it restarts) Running;
 * 5. a terminated pod whose phase would still be Pending or Running is Failed.
 */
export function podPhase(
  pod: V1Pod,
  statuses: readonly ApiContainerStatus[],
  plan: Pick<PodPlan, 'initialized' | 'initFailed'>,
  terminated: boolean,
): PodPhase {
  const policy = pod.spec?.restartPolicy ?? 'Always';
  const phase = ((): PodPhase => {
    if (plan.initFailed) return 'Failed';
    if (!plan.initialized) return 'Pending';
    let running = 0;
    let waiting = 0;
    let stopped = 0;
    let succeeded = 0;
    for (const s of statuses) {
      if (s.state.running !== undefined) running++;
      else if (s.state.terminated !== undefined) {
        stopped++;
        if (s.state.terminated.exitCode === 0) succeeded++;
      } else if (s.lastState.terminated !== undefined) stopped++;
      else waiting++;
    }
    if (waiting > 0) return 'Pending';
    if (running > 0) return 'Running';
    if (stopped === 0) return 'Pending';
    if (terminated) return stopped === succeeded ? 'Succeeded' : 'Failed';
    if (policy === 'Always') return 'Running';
    if (stopped === succeeded) return 'Succeeded';
    return policy === 'Never' ? 'Failed' : 'Running';
  })();
  return terminated && (phase === 'Pending' || phase === 'Running') ? 'Failed' : phase;
}

function condition(
  type: string,
  ok: boolean,
  previous: ApiPodStatus | undefined,
  now: number,
  generation: number | undefined,
  why?: { readonly reason: string; readonly message?: string },
): ApiPodCondition {
  const status = ok ? 'True' : 'False';
  const before = previous?.conditions.find((c) => c.type === type);
  return {
    type,
    status,
    lastProbeTime: null,
    lastTransitionTime:
      before !== undefined && before.status === status ? before.lastTransitionTime : apiTime(now),
    ...(ok || why === undefined
      ? {}
      : { reason: why.reason, ...(why.message === undefined ? {} : { message: why.message }) }),
    ...(generation === undefined ? {} : { observedGeneration: generation }),
  };
}

/** The whole status the kubelet writes for the pod. */
export function buildPodStatus(i: PodStatusInput): ApiPodStatus {
  const spec = i.pod.spec;
  const generation = i.pod.metadata?.generation;
  const initStatuses = (spec?.initContainers ?? []).map((c) =>
    containerStatus(c, i.records.get(c.name), i.plan.waiting.get(c.name)),
  );
  const statuses = (spec?.containers ?? [])
    .map((c) => containerStatus(c, i.records.get(c.name), i.plan.waiting.get(c.name)))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const phase = podPhase(i.pod, statuses, i.plan, i.terminated);

  const sidecars = new Set(
    (spec?.initContainers ?? []).filter((c) => c.restartPolicy === 'Always').map((c) => c.name),
  );
  const unready = [...statuses, ...initStatuses.filter((s) => sidecars.has(s.name))]
    .filter((s) => !s.ready)
    .map((s) => s.name)
    .sort();
  const incompleteInit = initStatuses
    .filter((s) => (sidecars.has(s.name) ? !s.started : !s.ready))
    .map((s) => s.name);
  const gates = (spec?.readinessGates ?? []).map((g) => g.conditionType);
  const gateStatus = new Map((i.pod.status?.conditions ?? []).map((c) => [c.type, c.status]));
  const closedGates = gates.filter((g) => gateStatus.get(g) !== 'True');
  const completed = phase === 'Succeeded';
  const notReady = completed
    ? { reason: 'PodCompleted' }
    : { reason: 'ContainersNotReady', message: `containers with unready status: [${unready.join(' ')}]` };
  const containersReady = unready.length === 0 && !completed;
  const ready = containersReady && closedGates.length === 0;

  const conditions = [
    condition('PodReadyToStartContainers', i.sandboxReady, i.previous, i.now, generation),
    condition('Initialized', i.plan.initialized, i.previous, i.now, generation, {
      reason: 'ContainersNotInitialized',
      message: `containers with incomplete status: [${incompleteInit.join(' ')}]`,
    }),
    condition(
      'Ready',
      ready,
      i.previous,
      i.now,
      generation,
      containersReady
        ? {
            reason: 'ReadinessGatesNotReady',
            message: `corresponding condition of pod readiness gate "${closedGates[0] ?? ''}" does not exist.`,
          }
        : notReady,
    ),
    condition('ContainersReady', containersReady, i.previous, i.now, generation, notReady),
  ];

  return {
    ...(generation === undefined ? {} : { observedGeneration: generation }),
    phase,
    conditions,
    hostIP: i.hostIP,
    hostIPs: [{ ip: i.hostIP }],
    ...(i.podIP === undefined ? {} : { podIP: i.podIP, podIPs: [{ ip: i.podIP }] }),
    ...(i.startTime === undefined ? {} : { startTime: apiTime(i.startTime) }),
    ...(initStatuses.length === 0 ? {} : { initContainerStatuses: initStatuses }),
    containerStatuses: statuses,
  };
}

/**
 * The status as a strategic merge patch: conditions merge with the stored ones by `type`, so a key this status
 * leaves out (a `reason` or `message` that no longer applies) is sent as null to delete it. Container status lists
 * are atomic and replaced whole.
 */
export function statusPatch(uid: string, status: ApiPodStatus): Record<string, unknown> {
  return {
    metadata: { uid },
    status: {
      ...status,
      conditions: status.conditions.map((c) => ({ reason: null, message: null, ...c })),
    },
  };
}
