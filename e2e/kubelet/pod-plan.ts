// Pure: what the kubelet does next for a pod's containers (kubelet computePodActions), from records and the clock.
import type { V1Container, V1Pod } from '@kubernetes/client-node';
import { nextBackoff, restartDecision, type BackoffPolicy } from './backoff.ts';
import type { ContainerRecord, StopReason, Waiting } from './pod-state.ts';

export type RestartPolicy = 'Always' | 'OnFailure' | 'Never';

export type ContainerAction =
  /** Start (or restart) it; `crashBackoffMs` is the back-off this start puts in force. */
  | { readonly kind: 'start'; readonly container: string; readonly crashBackoffMs: number | undefined }
  /** Its image is not in the catalogue: record a failed pull. */
  | {
      readonly kind: 'pull-failed';
      readonly container: string;
      readonly message: string;
      readonly backoffMs: number;
    }
  /** Stop it so that it restarts (a failed liveness or startup probe). */
  | { readonly kind: 'kill'; readonly container: string; readonly reason: Exclude<StopReason, 'pod'> };

export interface PlanInput {
  readonly pod: V1Pod;
  readonly records: ReadonlyMap<string, ContainerRecord>;
  /** The pull error for a container's image, or undefined when the catalogue has it. */
  readonly imageError: (container: V1Container) => string | undefined;
  readonly now: number;
  readonly crash: BackoffPolicy;
  readonly pull: BackoffPolicy;
}

export interface PodPlan {
  readonly actions: readonly ContainerAction[];
  /** Waiting state of each container that is neither running nor ended for good. */
  readonly waiting: ReadonlyMap<string, Waiting>;
  /** The earliest time a back-off ends and the plan changes (epoch ms). */
  readonly wakeAt: number | undefined;
  /** Every init container succeeded (sidecars: started). */
  readonly initialized: boolean;
  /** An init container failed under restartPolicy Never: the pod has failed. */
  readonly initFailed: boolean;
  /** Nothing will run again: init failed for good, or every regular container ended for good. */
  readonly complete: boolean;
}

/** How long ErrImagePull shows before ImagePullBackOff (a real kubelet's next sync shows the back-off). */
export const PULL_ERROR_SHOWN_MS = 500;

/** Whether a container that ended with `exitCode` runs again under the policy. */
export function shouldRestart(policy: RestartPolicy, exitCode: number): boolean {
  return policy === 'Always' || (policy === 'OnFailure' && exitCode !== 0);
}

function seconds(ms: number): string {
  return `${Math.round(ms / 100) / 10}s`;
}

class Planner {
  readonly actions: ContainerAction[] = [];
  readonly waiting = new Map<string, Waiting>();
  wakeAt: number | undefined;
  readonly #i: PlanInput;

  constructor(i: PlanInput) {
    this.#i = i;
  }

  wake(at: number): void {
    this.wakeAt = this.wakeAt === undefined ? at : Math.min(this.wakeAt, at);
  }

  /**
   * One container under `policy`:
   * 1. running: killed if its startup probe failed or it is no longer live;
   * 2. ended and not to be restarted: left alone;
   * 3. otherwise it is to start: an unknown image fails its pull (ErrImagePull, then ImagePullBackOff until
   *    the pull back-off ends); a recent config error waits out its back-off; a crash waits out the crash-loop
   *    back-off (CrashLoopBackOff); else it starts.
   */
  container(c: V1Container, policy: RestartPolicy): void {
    const { now, pod } = this.#i;
    const rec = this.#i.records.get(c.name);
    const running = rec?.running;
    if (running !== undefined) {
      if (running.stopping !== undefined) return;
      if (running.startupFailed) this.actions.push({ kind: 'kill', container: c.name, reason: 'startup' });
      else if (!running.live) this.actions.push({ kind: 'kill', container: c.name, reason: 'liveness' });
      return;
    }
    const last = rec?.last;
    if (last !== undefined && !shouldRestart(policy, last.exitCode)) return;

    const pullError = this.#i.imageError(c);
    if (pullError !== undefined) {
      const p = rec?.pull;
      if (p === undefined || now >= p.at + p.backoffMs) {
        const backoffMs = nextBackoff(this.#i.pull, p?.backoffMs);
        this.actions.push({ kind: 'pull-failed', container: c.name, message: pullError, backoffMs });
        this.waiting.set(c.name, { reason: 'ErrImagePull', message: pullError });
        this.wake(now + PULL_ERROR_SHOWN_MS);
      } else if (now < p.at + PULL_ERROR_SHOWN_MS) {
        this.waiting.set(c.name, { reason: 'ErrImagePull', message: p.message });
        this.wake(p.at + PULL_ERROR_SHOWN_MS);
      } else {
        this.waiting.set(c.name, {
          reason: 'ImagePullBackOff',
          message: `Back-off pulling image ${JSON.stringify(c.image ?? '')}: ErrImagePull: ${p.message}`,
        });
        this.wake(p.at + p.backoffMs);
      }
      return;
    }
    const config = rec?.config;
    if (config !== undefined && now < config.at + config.backoffMs) {
      this.waiting.set(c.name, { reason: config.reason, message: config.message });
      this.wake(config.at + config.backoffMs);
      return;
    }
    if (last === undefined) {
      this.actions.push({ kind: 'start', container: c.name, crashBackoffMs: rec?.crashBackoffMs });
      return;
    }
    const d = restartDecision(
      this.#i.crash,
      rec?.crashBackoffMs,
      last.finishedAt - last.startedAt,
      last.finishedAt,
      now,
    );
    if (d.start) {
      this.actions.push({ kind: 'start', container: c.name, crashBackoffMs: d.backoffMs });
      return;
    }
    const m = pod.metadata ?? {};
    this.waiting.set(c.name, {
      reason: 'CrashLoopBackOff',
      message:
        `back-off ${seconds(d.backoffMs)} restarting failed container=${c.name} ` +
        `pod=${m.name ?? ''}_${m.namespace ?? ''}(${m.uid ?? ''})`,
    });
    this.wake(d.retryAt);
  }
}

/**
 * The pod's next container actions:
 * 1. init containers in order: the first that has not succeeded is (re)started or waited for, and nothing after
 *    it runs; a failed one under restartPolicy Never fails the pod. Init containers restart on failure whatever
 *    the pod's policy says (Never excepted). A sidecar (`restartPolicy: Always`) only has to have started.
 * 2. once initialized, every regular container under the pod's restartPolicy; before that they wait with
 *    PodInitializing.
 */
export function planPod(i: PlanInput): PodPlan {
  const spec = i.pod.spec;
  const policy = (spec?.restartPolicy ?? 'Always') as RestartPolicy;
  const p = new Planner(i);
  let initialized = true;
  let initFailed = false;
  for (const c of spec?.initContainers ?? []) {
    const rec = i.records.get(c.name);
    if (c.restartPolicy === 'Always') {
      p.container(c, 'Always');
      if (rec?.running?.started === true) continue;
      initialized = false;
      break;
    }
    if (rec?.running === undefined && rec?.last?.exitCode === 0) continue;
    initialized = false;
    if (rec?.running === undefined && rec?.last !== undefined && policy === 'Never') {
      initFailed = true;
      break;
    }
    p.container(c, 'OnFailure');
    break;
  }
  const regular = spec?.containers ?? [];
  for (const c of regular) {
    if (initialized) p.container(c, policy);
    else if (!initFailed) p.waiting.set(c.name, { reason: 'PodInitializing' });
  }
  const endedForGood = (c: V1Container): boolean => {
    const rec = i.records.get(c.name);
    return rec?.running === undefined && rec?.last !== undefined && !shouldRestart(policy, rec.last.exitCode);
  };
  return {
    actions: p.actions,
    waiting: p.waiting,
    wakeAt: p.wakeAt,
    initialized,
    initFailed,
    complete: initFailed || (initialized && regular.length > 0 && regular.every(endedForGood)),
  };
}
