// Unit tests: which run `kubectl logs [--previous]` reads, with the kubelet's validateContainerLogStatus messages.
import { describe, expect, it } from 'vitest';
import { chooseLogRun, type LogContainerStatus } from './log-selection.ts';

const term = (containerID: string): { terminated: { containerID: string } } => ({
  terminated: { containerID },
});

function status(c: Omit<LogContainerStatus, 'name'>, init = false): Parameters<typeof chooseLogRun>[1] {
  const s = { name: 'c', ...c };
  return init ? { containerStatuses: [], initContainerStatuses: [s] } : { containerStatuses: [s] };
}

describe('chooseLogRun', () => {
  it('reads the running run, and the one before with previous', () => {
    const s = status({ containerID: 'id://2', state: { running: {} }, lastState: term('id://1') });
    expect(chooseLogRun('p', s, 'c', false)).toEqual({ ok: true, containerID: 'id://2' });
    expect(chooseLogRun('p', s, 'c', true)).toEqual({ ok: true, containerID: 'id://1' });
  });

  it('reads a terminated run; previous is the run before it', () => {
    const s = status({ containerID: 'id://2', state: term('id://2'), lastState: term('id://1') });
    expect(chooseLogRun('p', s, 'c', false)).toEqual({ ok: true, containerID: 'id://2' });
    expect(chooseLogRun('p', s, 'c', true)).toEqual({ ok: true, containerID: 'id://1' });
  });

  it('in crash-loop back-off both read the last run', () => {
    const s = status({ state: { waiting: { reason: 'CrashLoopBackOff' } }, lastState: term('id://3') });
    expect(chooseLogRun('p', s, 'c', false)).toEqual({ ok: true, containerID: 'id://3' });
    expect(chooseLogRun('p', s, 'c', true)).toEqual({ ok: true, containerID: 'id://3' });
  });

  it('finds init containers too', () => {
    const s = status({ containerID: 'id://i', state: term('id://i') }, true);
    expect(chooseLogRun('p', s, 'c', false)).toEqual({ ok: true, containerID: 'id://i' });
  });

  it("answers with the kubelet's messages when there is nothing to read", () => {
    const first = status({ containerID: 'id://1', state: { running: {} } });
    expect(chooseLogRun('p', first, 'c', true)).toEqual({
      ok: false,
      message: 'previous terminated container "c" in pod "p" not found',
    });
    expect(chooseLogRun('p', status({ state: { waiting: { reason: 'ErrImagePull' } } }), 'c', false)).toEqual(
      {
        ok: false,
        message: `container "c" in pod "p" is waiting to start: image can't be pulled`,
      },
    );
    expect(
      chooseLogRun('p', status({ state: { waiting: { reason: 'ImagePullBackOff' } } }), 'c', false),
    ).toEqual({
      ok: false,
      message: 'container "c" in pod "p" is waiting to start: trying and failing to pull image',
    });
    expect(
      chooseLogRun('p', status({ state: { waiting: { reason: 'ContainerCreating' } } }), 'c', false),
    ).toEqual({
      ok: false,
      message: 'container "c" in pod "p" is waiting to start: ContainerCreating',
    });
    expect(chooseLogRun('p', status({ state: {} }), 'c', false)).toEqual({
      ok: false,
      message: 'container "c" in pod "p" is waiting to start - no logs yet',
    });
    expect(chooseLogRun('p', { containerStatuses: [] }, 'c', false)).toEqual({
      ok: false,
      message: 'container "c" in pod "p" is not available',
    });
    expect(chooseLogRun('p', undefined, 'c', false)).toMatchObject({ ok: false });
  });
});
