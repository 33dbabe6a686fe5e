// The kubelet's probe result state machine (prober `worker.doProbe`), pure: thresholds, initial values, on-hold.
import type { V1Probe } from '@kubernetes/client-node';

export type ProbeKind = 'liveness' | 'readiness' | 'startup';
export type ProbeOutcome = 'success' | 'failure';
export type ProbeResult = ProbeOutcome | 'unknown';

/** A probe's timing with the API defaults applied. */
export interface ProbeTiming {
  readonly initialDelaySeconds: number;
  readonly periodSeconds: number;
  readonly timeoutSeconds: number;
  readonly successThreshold: number;
  readonly failureThreshold: number;
}

/** API defaults: no delay, every 10 s, 1 s timeout, 1 success, 3 failures (minimums of 1 as validation enforces). */
export function probeTiming(p: V1Probe): ProbeTiming {
  const atLeast1 = (v: number | undefined, d: number): number => Math.max(1, v ?? d);
  return {
    initialDelaySeconds: Math.max(0, p.initialDelaySeconds ?? 0),
    periodSeconds: atLeast1(p.periodSeconds, 10),
    timeoutSeconds: atLeast1(p.timeoutSeconds, 1),
    successThreshold: atLeast1(p.successThreshold, 1),
    failureThreshold: atLeast1(p.failureThreshold, 3),
  };
}

export interface ProbeState {
  /** What the kubelet reports: ready / live / started. */
  readonly result: ProbeResult;
  /** The latest single outcome, and how many in a row it has been. */
  readonly last: ProbeResult;
  readonly run: number;
  /** A liveness or startup probe that failed stops until the container is restarted. */
  readonly onHold: boolean;
}

/** Before any probe ran: not ready, live, start unknown (kubelet's initial values). */
export function initialProbeState(kind: ProbeKind): ProbeState {
  const result: ProbeResult = kind === 'readiness' ? 'failure' : kind === 'liveness' ? 'success' : 'unknown';
  return { result, last: 'unknown', run: 0, onHold: false };
}

/**
 * Folds one outcome in:
 * 1. a repeat of the last outcome extends the run, a different one starts a run of 1;
 * 2. the reported result changes only once a run reaches its threshold (failureThreshold / successThreshold);
 * 3. a liveness or startup probe whose result becomes failure goes on hold with its run reset.
 */
export function observeProbe(
  kind: ProbeKind,
  timing: ProbeTiming,
  state: ProbeState,
  outcome: ProbeOutcome,
): { state: ProbeState; changed: boolean } {
  const run = state.last === outcome ? state.run + 1 : 1;
  const threshold = outcome === 'failure' ? timing.failureThreshold : timing.successThreshold;
  if (run < threshold) return { state: { ...state, last: outcome, run }, changed: false };
  const hold = outcome === 'failure' && (kind === 'liveness' || kind === 'startup');
  return {
    state: { result: outcome, last: outcome, run: hold ? 0 : run, onHold: hold },
    changed: state.result !== outcome,
  };
}

/** Milliseconds from container start to the first probe. */
export function firstProbeDelayMs(t: ProbeTiming): number {
  return t.initialDelaySeconds * 1000;
}

/** Milliseconds to wait after a probe that started at `startedAt` (a ticker: the period counts from the start). */
export function nextProbeDelayMs(t: ProbeTiming, startedAt: number, now: number): number {
  return Math.max(0, startedAt + t.periodSeconds * 1000 - now);
}
