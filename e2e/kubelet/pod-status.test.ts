// Unit tests: the pod status the kubelet writes (phase, conditions, container states) from its records.
import type { V1Pod } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { apiTime } from './api-time.ts';
import type { ContainerRecord, TerminatedRun, Waiting } from './pod-state.ts';
import { buildPodStatus, statusPatch, type PodStatusInput } from './pod-status.ts';

const T0 = Date.UTC(2026, 0, 2, 3, 4, 5);

function pod(spec: Partial<NonNullable<V1Pod['spec']>> = {}): V1Pod {
  return {
    metadata: { name: 'p', namespace: 'ns', uid: 'u', generation: 1 },
    spec: {
      containers: [
        { name: 'web', image: 'ambit/echo-http' },
        { name: 'app', image: 'busybox' },
      ],
      ...spec,
    },
    status: { conditions: [{ type: 'PodScheduled', status: 'True' }] },
  };
}

const ended = (exitCode: number, id = 'ambit-box://t'): TerminatedRun => ({
  containerID: id,
  exitCode,
  reason: exitCode === 0 ? 'Completed' : 'Error',
  startedAt: T0,
  finishedAt: T0 + 2_000,
});

function rec(name: string, r: Partial<ContainerRecord>): [string, ContainerRecord] {
  return [
    name,
    { name, kind: 'regular', restartCount: 0, image: { ref: `img-${name}`, id: `id-${name}` }, ...r },
  ];
}

const run = (ready: boolean): ContainerRecord['running'] => ({
  containerID: 'ambit-box://r',
  startedAt: T0,
  started: true,
  ready,
  live: true,
  startupFailed: false,
});

function input(
  p: V1Pod,
  records: [string, ContainerRecord][],
  extra: Partial<PodStatusInput> = {},
): PodStatusInput {
  return {
    pod: p,
    records: new Map(records),
    plan: { waiting: new Map<string, Waiting>(), initialized: true, initFailed: false },
    hostIP: '172.30.0.10',
    podIP: '10.244.0.5',
    sandboxReady: true,
    startTime: T0,
    terminated: false,
    previous: undefined,
    now: T0 + 5_000,
    ...extra,
  };
}

describe('buildPodStatus', () => {
  it('reports a running, ready pod', () => {
    const s = buildPodStatus(
      input(pod(), [rec('web', { running: run(true) }), rec('app', { running: run(true) })]),
    );
    expect(s).toMatchObject({
      observedGeneration: 1,
      phase: 'Running',
      hostIP: '172.30.0.10',
      hostIPs: [{ ip: '172.30.0.10' }],
      podIP: '10.244.0.5',
      podIPs: [{ ip: '10.244.0.5' }],
      startTime: apiTime(T0),
    });
    expect(s.containerStatuses.map((c) => c.name)).toEqual(['app', 'web']);
    expect(s.containerStatuses[1]).toEqual({
      name: 'web',
      image: 'img-web',
      imageID: 'id-web',
      containerID: 'ambit-box://r',
      ready: true,
      started: true,
      restartCount: 0,
      state: { running: { startedAt: '2026-01-02T03:04:05Z' } },
      lastState: {},
    });
    expect(s.conditions.map((c) => [c.type, c.status])).toEqual([
      ['PodReadyToStartContainers', 'True'],
      ['Initialized', 'True'],
      ['Ready', 'True'],
      ['ContainersReady', 'True'],
    ]);
  });

  it('names unready containers and keeps the pod Pending while one waits for its image', () => {
    const waiting = new Map<string, Waiting>([
      ['app', { reason: 'ImagePullBackOff', message: 'Back-off pulling image "nope"' }],
    ]);
    const s = buildPodStatus(
      input(pod(), [rec('web', { running: run(false) })], {
        plan: { waiting, initialized: true, initFailed: false },
      }),
    );
    expect(s.phase).toBe('Pending');
    const app = s.containerStatuses.find((c) => c.name === 'app');
    expect(app?.state).toEqual({
      waiting: { reason: 'ImagePullBackOff', message: 'Back-off pulling image "nope"' },
    });
    expect(app?.image).toBe('busybox');
    expect(s.conditions.find((c) => c.type === 'Ready')).toMatchObject({
      status: 'False',
      reason: 'ContainersNotReady',
      message: 'containers with unready status: [app web]',
    });
  });

  it('reports a crash loop as Running with the last termination', () => {
    const waiting = new Map<string, Waiting>([
      ['app', { reason: 'CrashLoopBackOff', message: 'back-off 2s' }],
    ]);
    const s = buildPodStatus(
      input(pod(), [rec('web', { running: run(true) }), rec('app', { restartCount: 3, last: ended(1) })], {
        plan: { waiting, initialized: true, initFailed: false },
      }),
    );
    expect(s.phase).toBe('Running');
    expect(s.containerStatuses[0]).toMatchObject({
      name: 'app',
      restartCount: 3,
      ready: false,
      state: { waiting: { reason: 'CrashLoopBackOff' } },
      lastState: { terminated: { exitCode: 1, reason: 'Error', finishedAt: '2026-01-02T03:04:07Z' } },
    });
  });

  it('completes a Never pod whose containers exited 0', () => {
    const s = buildPodStatus(
      input(pod({ restartPolicy: 'Never' }), [
        rec('web', { last: ended(0), previous: ended(1, 'ambit-box://older') }),
        rec('app', { last: ended(0) }),
      ]),
    );
    expect(s.phase).toBe('Succeeded');
    expect(s.containerStatuses[1]).toMatchObject({
      state: { terminated: { exitCode: 0, reason: 'Completed' } },
      lastState: { terminated: { exitCode: 1, containerID: 'ambit-box://older' } },
    });
    expect(s.conditions.find((c) => c.type === 'Ready')).toMatchObject({
      status: 'False',
      reason: 'PodCompleted',
    });
  });

  it('fails a Never pod with a failed container', () => {
    const s = buildPodStatus(
      input(pod({ restartPolicy: 'Never' }), [
        rec('web', { last: ended(0) }),
        rec('app', { last: ended(2) }),
      ]),
    );
    expect(s.phase).toBe('Failed');
  });

  it.each([
    [0, 'Succeeded'],
    [137, 'Failed'],
  ] as const)('ends a deleted Always pod whose containers exited %i as %s', (code, phase) => {
    const s = buildPodStatus(
      input(pod(), [rec('web', { last: ended(code) }), rec('app', { last: ended(0) })], { terminated: true }),
    );
    expect(s.phase).toBe(phase);
  });

  it('ends a deleted pod that never ran as Failed', () => {
    expect(buildPodStatus(input(pod(), [], { terminated: true })).phase).toBe('Failed');
  });

  it('reports init containers in spec order, completed ones ready', () => {
    const p = pod({
      initContainers: [
        { name: 'init-b', image: 'busybox' },
        { name: 'init-a', image: 'busybox' },
      ],
    });
    const s = buildPodStatus(
      input(
        p,
        [
          rec('init-b', { kind: 'init', last: ended(0) }),
          rec('init-a', { kind: 'init', running: run(false) }),
        ],
        {
          plan: {
            waiting: new Map([
              ['web', { reason: 'PodInitializing' }],
              ['app', { reason: 'PodInitializing' }],
            ]),
            initialized: false,
            initFailed: false,
          },
        },
      ),
    );
    expect(s.phase).toBe('Pending');
    expect(s.initContainerStatuses?.map((c) => [c.name, c.ready])).toEqual([
      ['init-b', true],
      ['init-a', false],
    ]);
    expect(s.conditions.find((c) => c.type === 'Initialized')).toMatchObject({
      status: 'False',
      reason: 'ContainersNotInitialized',
      message: 'containers with incomplete status: [init-a]',
    });
  });

  it('keeps transition times of unchanged conditions', () => {
    const records: [string, ContainerRecord][] = [
      rec('web', { running: run(true) }),
      rec('app', { running: run(false) }),
    ];
    const first = buildPodStatus(input(pod(), records, { now: T0 }));
    const second = buildPodStatus(
      input(pod(), [rec('web', { running: run(true) }), rec('app', { running: run(true) })], {
        previous: first,
        now: T0 + 60_000,
      }),
    );
    const time = (s: typeof first, type: string): string | undefined =>
      s.conditions.find((c) => c.type === type)?.lastTransitionTime;
    expect(time(second, 'Initialized')).toBe(time(first, 'Initialized'));
    expect(time(second, 'Ready')).toBe(apiTime(T0 + 60_000));
  });

  it('omits pod IPs before the sandbox has one', () => {
    const s = buildPodStatus(input(pod(), [], { podIP: undefined, sandboxReady: false }));
    expect(s.podIP).toBeUndefined();
    expect(s.conditions[0]).toMatchObject({ type: 'PodReadyToStartContainers', status: 'False' });
    expect(s.containerStatuses[0]?.state).toEqual({ waiting: { reason: 'ContainerCreating' } });
  });
});

describe('statusPatch', () => {
  it('carries the uid precondition and deletes reason and message of conditions that no longer have them', () => {
    const s = buildPodStatus(
      input(pod(), [rec('web', { running: run(true) }), rec('app', { running: run(true) })]),
    );
    const patch = statusPatch('u', s) as { metadata: unknown; status: { conditions: unknown[] } };
    expect(patch.metadata).toEqual({ uid: 'u' });
    expect(patch.status.conditions[2]).toMatchObject({
      type: 'Ready',
      status: 'True',
      reason: null,
      message: null,
    });
  });
});
