// Pure back-off arithmetic for crash loops, image pulls and retries (kubelet's flowcontrol.Backoff, shortened).

export interface BackoffPolicy {
  readonly initialMs: number;
  readonly maxMs: number;
  /** A run that lasted this long forgets the back-off (kubelet: entries idle for 2 × max are dropped). */
  readonly resetAfterMs: number;
}

/** Container restarts: 1 s doubling to 30 s (a real kubelet uses 10 s to 5 min; tests cannot wait that long). */
export const CRASH_BACKOFF: BackoffPolicy = { initialMs: 1_000, maxMs: 30_000, resetAfterMs: 60_000 };
/** Image pulls that fail: 2 s doubling to 30 s. */
export const PULL_BACKOFF: BackoffPolicy = { initialMs: 2_000, maxMs: 30_000, resetAfterMs: 60_000 };
/** Retries of failed kubelet steps (sandbox, volumes, API writes, watches): 0.5 s doubling to 30 s. */
export const RETRY_BACKOFF: BackoffPolicy = { initialMs: 500, maxMs: 30_000, resetAfterMs: 60_000 };

/** The delay after `previousMs` (undefined: the first one). */
export function nextBackoff(policy: BackoffPolicy, previousMs: number | undefined): number {
  return previousMs === undefined ? policy.initialMs : Math.min(policy.maxMs, previousMs * 2);
}

export type RestartDecision =
  | { readonly start: true; /** What the back-off becomes with this start. */ readonly backoffMs: number }
  | { readonly start: false; readonly retryAt: number; readonly backoffMs: number };

/**
 * When to restart a container that ended at `finishedAt` after running `ranMs` (kubelet `doBackOff`):
 * 1. no back-off yet (or the run outlived resetAfterMs): start now, and the back-off becomes initialMs;
 * 2. within the back-off since the exit: wait until `finishedAt + backoff` (CrashLoopBackOff);
 * 3. after it: start now, and the back-off doubles up to maxMs.
 */
export function restartDecision(
  policy: BackoffPolicy,
  backoffMs: number | undefined,
  ranMs: number,
  finishedAt: number,
  now: number,
): RestartDecision {
  const current = ranMs >= policy.resetAfterMs ? undefined : backoffMs;
  if (current === undefined) return { start: true, backoffMs: policy.initialMs };
  if (now < finishedAt + current) return { start: false, retryAt: finishedAt + current, backoffMs: current };
  return { start: true, backoffMs: nextBackoff(policy, current) };
}
