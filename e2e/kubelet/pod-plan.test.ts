// Unit tests: planPod's container actions and waiting reasons (init order, restart policies, back-offs, probes).
import type { V1Container, V1Pod } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { CRASH_BACKOFF, PULL_BACKOFF } from './backoff.ts';
import { PULL_ERROR_SHOWN_MS, planPod, type PlanInput } from './pod-plan.ts';
import type { ContainerRecord, RunningRun, TerminatedRun } from './pod-state.ts';

const c = (name: string, extra: Partial<V1Container> = {}): V1Container => ({
  name,
  image: 'busybox',
  ...extra,
});

function pod(spec: Partial<NonNullable<V1Pod['spec']>>): V1Pod {
  return {
    metadata: { name: 'p', namespace: 'ns', uid: 'u-1' },
    spec: { containers: [c('app')], ...spec },
  };
}

const running = (extra: Partial<RunningRun> = {}): RunningRun => ({
  containerID: 'ambit-box://r',
  startedAt: 0,
  started: true,
  ready: true,
  live: true,
  startupFailed: false,
  ...extra,
});

const ended = (exitCode: number, finishedAt = 1_000, startedAt = 500): TerminatedRun => ({
  containerID: 'ambit-box://t',
  exitCode,
  reason: exitCode === 0 ? 'Completed' : 'Error',
  startedAt,
  finishedAt,
});

function rec(name: string, r: Partial<ContainerRecord> = {}): [string, ContainerRecord] {
  return [name, { name, kind: 'regular', restartCount: 0, ...r }];
}

function plan(
  p: V1Pod,
  records: [string, ContainerRecord][],
  now = 1_000,
  unknown: string[] = [],
): ReturnType<typeof planPod> {
  const input: PlanInput = {
    pod: p,
    records: new Map(records),
    imageError: (x) => (unknown.includes(x.name) ? `image ${x.image ?? ''} unknown` : undefined),
    now,
    crash: CRASH_BACKOFF,
    pull: PULL_BACKOFF,
  };
  return planPod(input);
}

describe('planPod', () => {
  it('starts every container of a fresh pod', () => {
    const r = plan(pod({ containers: [c('a'), c('b')] }), []);
    expect(r.actions).toEqual([
      { kind: 'start', container: 'a', crashBackoffMs: undefined },
      { kind: 'start', container: 'b', crashBackoffMs: undefined },
    ]);
    expect(r).toMatchObject({ initialized: true, initFailed: false, complete: false });
  });

  it('runs init containers one at a time, in order, before any container', () => {
    const p = pod({ initContainers: [c('i1'), c('i2')] });
    let r = plan(p, []);
    expect(r.actions).toEqual([{ kind: 'start', container: 'i1', crashBackoffMs: undefined }]);
    expect(r.waiting.get('app')).toEqual({ reason: 'PodInitializing' });
    expect(r.initialized).toBe(false);

    r = plan(p, [rec('i1', { kind: 'init', running: running() })]);
    expect(r.actions).toEqual([]);

    r = plan(p, [rec('i1', { kind: 'init', last: ended(0) })]);
    expect(r.actions).toEqual([{ kind: 'start', container: 'i2', crashBackoffMs: undefined }]);

    r = plan(p, [rec('i1', { kind: 'init', last: ended(0) }), rec('i2', { kind: 'init', last: ended(0) })]);
    expect(r.actions).toEqual([{ kind: 'start', container: 'app', crashBackoffMs: undefined }]);
    expect(r.initialized).toBe(true);
  });

  it('fails the pod when an init container fails under restartPolicy Never', () => {
    const r = plan(pod({ restartPolicy: 'Never', initContainers: [c('i1')] }), [
      rec('i1', { kind: 'init', last: ended(1) }),
    ]);
    expect(r).toMatchObject({ initFailed: true, complete: true, actions: [] });
  });

  it('restarts a failed init container under Always, with the crash back-off', () => {
    const p = pod({ initContainers: [c('i1')] });
    const first = plan(p, [rec('i1', { kind: 'init', last: ended(1) })]);
    expect(first.actions).toEqual([{ kind: 'start', container: 'i1', crashBackoffMs: 1_000 }]);
    const again = plan(p, [rec('i1', { kind: 'init', last: ended(1, 1_000), crashBackoffMs: 1_000 })], 1_500);
    expect(again.actions).toEqual([]);
    expect(again.waiting.get('i1')?.reason).toBe('CrashLoopBackOff');
    expect(again.wakeAt).toBe(2_000);
  });

  it('treats an init container with restartPolicy Always as a sidecar that only has to start', () => {
    const p = pod({ initContainers: [c('side', { restartPolicy: 'Always' })] });
    expect(plan(p, []).actions).toEqual([{ kind: 'start', container: 'side', crashBackoffMs: undefined }]);
    const r = plan(p, [rec('side', { kind: 'sidecar', running: running() })]);
    expect(r.initialized).toBe(true);
    expect(r.actions).toEqual([{ kind: 'start', container: 'app', crashBackoffMs: undefined }]);
    const notStarted = plan(p, [rec('side', { kind: 'sidecar', running: running({ started: false }) })]);
    expect(notStarted.initialized).toBe(false);
  });

  it('fails the pull of an unknown image, shows ErrImagePull, then ImagePullBackOff until the back-off ends', () => {
    const p = pod({});
    let r = plan(p, [], 10_000, ['app']);
    expect(r.actions).toEqual([
      { kind: 'pull-failed', container: 'app', message: 'image busybox unknown', backoffMs: 2_000 },
    ]);
    expect(r.waiting.get('app')).toEqual({ reason: 'ErrImagePull', message: 'image busybox unknown' });
    const pulled = rec('app', {
      pull: { reason: 'ErrImagePull', message: 'image busybox unknown', at: 10_000, backoffMs: 2_000 },
    });
    r = plan(p, [pulled], 10_000 + PULL_ERROR_SHOWN_MS - 1, ['app']);
    expect(r.waiting.get('app')?.reason).toBe('ErrImagePull');
    expect(r.wakeAt).toBe(10_000 + PULL_ERROR_SHOWN_MS);
    r = plan(p, [pulled], 11_000, ['app']);
    expect(r.waiting.get('app')).toEqual({
      reason: 'ImagePullBackOff',
      message: 'Back-off pulling image "busybox": ErrImagePull: image busybox unknown',
    });
    expect(r.wakeAt).toBe(12_000);
    r = plan(p, [pulled], 12_000, ['app']);
    expect(r.actions).toEqual([
      { kind: 'pull-failed', container: 'app', message: 'image busybox unknown', backoffMs: 4_000 },
    ]);
  });

  it('restarts a crashed container at once, then in CrashLoopBackOff with a growing back-off', () => {
    const p = pod({});
    expect(plan(p, [rec('app', { last: ended(1) })], 1_000).actions).toEqual([
      { kind: 'start', container: 'app', crashBackoffMs: 1_000 },
    ]);
    const looping = rec('app', { restartCount: 1, last: ended(1, 5_000), crashBackoffMs: 1_000 });
    const r = plan(p, [looping], 5_200);
    expect(r.actions).toEqual([]);
    expect(r.waiting.get('app')).toEqual({
      reason: 'CrashLoopBackOff',
      message: 'back-off 1s restarting failed container=app pod=p_ns(u-1)',
    });
    expect(r.wakeAt).toBe(6_000);
    expect(plan(p, [looping], 6_000).actions).toEqual([
      { kind: 'start', container: 'app', crashBackoffMs: 2_000 },
    ]);
  });

  it.each([
    ['Never', 0, false, true],
    ['Never', 1, false, true],
    ['OnFailure', 0, false, true],
    ['OnFailure', 1, true, false],
    ['Always', 0, true, false],
  ] as const)('restartPolicy %s, exit %i: restart %s, complete %s', (policy, code, restarts, complete) => {
    const r = plan(pod({ restartPolicy: policy }), [rec('app', { last: ended(code) })]);
    expect(r.actions.length > 0).toBe(restarts);
    expect(r.complete).toBe(complete);
  });

  it('kills a container whose liveness or startup probe failed, once', () => {
    const p = pod({ containers: [c('a'), c('b'), c('x')] });
    const r = plan(p, [
      rec('a', { running: running({ live: false }) }),
      rec('b', { running: running({ startupFailed: true, started: false }) }),
      rec('x', { running: running({ live: false, stopping: 'liveness' }) }),
    ]);
    expect(r.actions).toEqual([
      { kind: 'kill', container: 'a', reason: 'liveness' },
      { kind: 'kill', container: 'b', reason: 'startup' },
    ]);
  });

  it('waits out a config error before trying again', () => {
    const config = {
      reason: 'CreateContainerConfigError',
      message: 'configmap ns/x not found',
      at: 1_000,
      backoffMs: 500,
    };
    const r = plan(pod({}), [rec('app', { config })], 1_200);
    expect(r.waiting.get('app')).toEqual({
      reason: 'CreateContainerConfigError',
      message: 'configmap ns/x not found',
    });
    expect(r.wakeAt).toBe(1_500);
    expect(plan(pod({}), [rec('app', { config })], 1_500).actions).toHaveLength(1);
  });
});
