// Kubernetes-style conditions with the clock injected: a condition keeps its lastTransitionTime while its status
// stays the same, so rewriting an unchanged condition is a no-op and the status writer can skip it.

export interface Condition {
  readonly type: string;
  readonly status: 'True' | 'False' | 'Unknown';
  readonly reason: string;
  readonly message: string;
  readonly observedGeneration?: number;
  readonly lastTransitionTime: string;
}

export type ConditionInput = Omit<Condition, 'lastTransitionTime'>;

/** The next conditions, in `next` order, carrying over transition times from `previous` (pure). */
export function mergeConditions(
  previous: readonly Partial<Condition>[] | undefined,
  next: readonly ConditionInput[],
  now: Date,
): Condition[] {
  return next.map((c) => {
    const old = previous?.find((p) => p.type === c.type);
    const keep = old?.status === c.status && typeof old.lastTransitionTime === 'string';
    return { ...c, lastTransitionTime: keep ? old.lastTransitionTime : rfc3339(now) };
  });
}

/** Seconds precision, as metav1.Time serialises. */
export function rfc3339(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}
