// Outlier detection (DestinationRule `outlierDetection`, Envoy's consecutive-5xx detector) as a state machine
// over plain data: record each result, read which endpoints are ejected at a given time. The clock is the `now`
// argument (ms); nothing here reads time or schedules timers, so ejection ends lazily when `now` passes it.
//
// Invariants, for one endpoint:
//  1. It is ejected at `now` iff `now < ejectedUntil`.
//  2. Results while it is ejected change nothing (Envoy ignores errors on an ejected host).
//  3. A 5xx, a reset or a connect failure adds one to `consecutive5xx`; any other response resets it to 0.
//  4. Reaching `consecutive5xxErrors` tries to eject and resets the counter either way (Envoy does both).
//  5. An ejection lasts baseEjectionTime × its multiplier, capped at max(300 s, base); the multiplier grows by one
//     per ejection (until the cap is passed) and shrinks by one per `intervalMs` spent back in service (Envoy's
//     ejection time back-off).
import type { OutlierDetection } from '@ambit/config';

export interface EndpointHealth {
  readonly consecutive5xx: number;
  /** Envoy's ejection-time back-off multiplier as of the last ejection (0 before any). */
  readonly multiplier: number;
  /** When the last ejection ends (ms); in the past once it is back. */
  readonly ejectedUntil?: number;
}

/** Per workload uid. Absent means healthy with no history. */
export type OutlierState = ReadonlyMap<string, EndpointHealth>;

export const EMPTY_OUTLIER_STATE: OutlierState = new Map();

/** Envoy's default `max_ejection_time` when the API gives none (DestinationRule has no field for it). */
export const MAX_EJECTION_TIME_MS = 300_000;

/** How one request to the endpoint ended; a connect failure or reset counts as a 5xx (Envoy's default). */
export interface EndpointResult {
  readonly status?: number;
  readonly reset?: boolean;
  readonly connectFailure?: boolean;
}

function isError(r: EndpointResult): boolean {
  return r.reset === true || r.connectFailure === true || (r.status !== undefined && r.status >= 500);
}

function isEjected(h: EndpointHealth | undefined, now: number): boolean {
  return h?.ejectedUntil !== undefined && now < h.ejectedUntil;
}

/** The endpoints ejected at `now`, for `LbState.ejected`. */
export function ejectedAt(state: OutlierState, now: number): ReadonlySet<string> {
  const out = new Set<string>();
  for (const [uid, h] of state) if (isEjected(h, now)) out.add(uid);
  return out;
}

/**
 * Envoy's cap, checked before each ejection: allowed iff 100 × (ejected + 1) / pool ≤ maxEjectionPercent. So with
 * Istio's default of 10 % a pool needs at least 10 endpoints before one can be ejected, and 100 % lets every
 * endpoint go (requests then get 503 UH).
 */
function mayEject(state: OutlierState, pool: readonly string[], od: OutlierDetection, now: number): boolean {
  const active = pool.filter((uid) => isEjected(state.get(uid), now)).length;
  return pool.length > 0 && (100 * (active + 1)) / pool.length <= od.maxEjectionPercent;
}

/** The longest ejection: Envoy's default `max_ejection_time`, or the base time when that is longer. */
function ejectionCap(od: OutlierDetection): number {
  return Math.max(MAX_EJECTION_TIME_MS, od.baseEjectionTimeMs);
}

/**
 * The multiplier for a new ejection: the last one's, less one per healthy interval since it ended, plus one. It
 * stops growing once base × multiplier passes the cap (as Envoy's does), so a flapping endpoint is forgiven
 * within a bounded number of intervals.
 */
function nextMultiplier(h: EndpointHealth, od: OutlierDetection, now: number): number {
  const forgiven =
    h.ejectedUntil === undefined || od.intervalMs <= 0
      ? 0
      : Math.floor((now - h.ejectedUntil) / od.intervalMs);
  const m = Math.max(0, h.multiplier - forgiven);
  return m * od.baseEjectionTimeMs < ejectionCap(od) + od.baseEjectionTimeMs ? m + 1 : m;
}

/**
 * Records one result of `endpoint`, a member of `pool` (the workload uids of the backend's endpoints, for the
 * ejection cap). Without outlier detection, or with `consecutive5xxErrors` 0 (Istio: disabled), nothing changes.
 */
export function recordResult(
  state: OutlierState,
  od: OutlierDetection | undefined,
  endpoint: string,
  result: EndpointResult,
  pool: readonly string[],
  now: number,
): OutlierState {
  if (!od || od.consecutive5xxErrors <= 0) return state;
  const h = state.get(endpoint) ?? { consecutive5xx: 0, multiplier: 0 };
  if (isEjected(h, now)) return state;

  let next: EndpointHealth;
  if (!isError(result)) {
    if (h.consecutive5xx === 0) return state;
    next = { ...h, consecutive5xx: 0 };
  } else if (h.consecutive5xx + 1 < od.consecutive5xxErrors) {
    next = { ...h, consecutive5xx: h.consecutive5xx + 1 };
  } else if (mayEject(state, pool, od, now)) {
    const multiplier = nextMultiplier(h, od, now);
    next = {
      consecutive5xx: 0,
      multiplier,
      ejectedUntil: now + Math.min(od.baseEjectionTimeMs * multiplier, ejectionCap(od)),
    };
  } else {
    next = { ...h, consecutive5xx: 0 };
  }
  const out = new Map(state);
  out.set(endpoint, next);
  return out;
}
