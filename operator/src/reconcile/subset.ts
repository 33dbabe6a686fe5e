// "Does the live object already say everything we want it to say?" — the test that lets a reconcile with no changes
// issue no writes. The apiserver adds defaults (protocol: TCP, revisionHistoryLimit, …) and other managers add
// their own fields, so the live object is a superset of what we applied; lists must match element by element
// because a list we own is ours whole.

export function isSubset(desired: unknown, live: unknown): boolean {
  if (desired === live) return true;
  // Go's omitempty: the apiserver does not echo zero values (hostNetwork: false, minReadySeconds: 0).
  if (live === undefined) return isZeroValue(desired);
  if (Array.isArray(desired)) {
    if (!Array.isArray(live) || live.length !== desired.length) return false;
    return desired.every((d, i) => isSubset(d, live[i]));
  }
  if (isRecord(desired)) {
    if (!isRecord(live)) return false;
    return Object.entries(desired).every(([k, v]) => v === undefined || isSubset(v, live[k]));
  }
  // Integers the apiserver echoes as strings or the other way round (int-or-string) are the same value.
  if (typeof desired === 'number' && typeof live === 'string') return String(desired) === live;
  return false;
}

function isZeroValue(v: unknown): boolean {
  if (v === 0 || v === false || v === '' || v === null || v === undefined) return true;
  if (Array.isArray(v)) return v.length === 0;
  return isRecord(v) && Object.values(v).every(isZeroValue);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
