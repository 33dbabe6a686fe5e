// Unit tests: the probe result state machine.
import { describe, expect, it } from 'vitest';
import {
  initialProbeState,
  nextProbeDelayMs,
  observeProbe,
  probeTiming,
  type ProbeKind,
  type ProbeOutcome,
  type ProbeResult,
} from './probe-state.ts';

function fold(
  kind: ProbeKind,
  outcomes: ProbeOutcome[],
  spec = {},
): { results: ProbeResult[]; changes: boolean[] } {
  const timing = probeTiming(spec);
  let state = initialProbeState(kind);
  const results: ProbeResult[] = [];
  const changes: boolean[] = [];
  for (const o of outcomes) {
    const next = observeProbe(kind, timing, state, o);
    state = next.state;
    results.push(state.result);
    changes.push(next.changed);
  }
  return { results, changes };
}

describe('probe timing', () => {
  it('applies the API defaults', () => {
    expect(probeTiming({})).toEqual({
      initialDelaySeconds: 0,
      periodSeconds: 10,
      timeoutSeconds: 1,
      successThreshold: 1,
      failureThreshold: 3,
    });
  });

  it('ticks from the start of the last probe', () => {
    const t = probeTiming({ periodSeconds: 2 });
    expect(nextProbeDelayMs(t, 1_000, 1_300)).toBe(1_700);
    expect(nextProbeDelayMs(t, 1_000, 5_000)).toBe(0);
  });
});

describe('observeProbe', () => {
  it('starts readiness as failure, liveness as success, startup as unknown', () => {
    expect(initialProbeState('readiness').result).toBe('failure');
    expect(initialProbeState('liveness').result).toBe('success');
    expect(initialProbeState('startup').result).toBe('unknown');
  });

  it('turns ready after successThreshold successes in a row and unready after failureThreshold failures', () => {
    const r = fold(
      'readiness',
      ['success', 'failure', 'success', 'success', 'failure', 'failure', 'success'],
      {
        successThreshold: 2,
        failureThreshold: 2,
      },
    );
    expect(r.results).toEqual(['failure', 'failure', 'failure', 'success', 'success', 'failure', 'failure']);
    expect(r.changes).toEqual([false, false, false, true, false, true, false]);
  });

  it('becomes ready on the first success by default', () => {
    expect(fold('readiness', ['success']).changes).toEqual([true]);
  });

  it('puts liveness on hold after failureThreshold failures', () => {
    const timing = probeTiming({ failureThreshold: 2 });
    let state = initialProbeState('liveness');
    state = observeProbe('liveness', timing, state, 'failure').state;
    expect(state).toMatchObject({ result: 'success', onHold: false, run: 1 });
    const next = observeProbe('liveness', timing, state, 'failure');
    expect(next).toEqual({
      state: { result: 'failure', last: 'failure', run: 0, onHold: true },
      changed: true,
    });
  });

  it('never puts readiness on hold', () => {
    const timing = probeTiming({ failureThreshold: 1 });
    expect(observeProbe('readiness', timing, initialProbeState('readiness'), 'failure').state.onHold).toBe(
      false,
    );
  });
});
