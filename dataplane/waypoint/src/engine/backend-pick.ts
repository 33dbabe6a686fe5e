// Where a routed request goes: one backend of the rule by weight, then one endpoint of that backend by the
// destination policy's load balancer. Randomness and load-balancer state are passed in, so the choice is a pure
// function of its inputs and the caller keeps the state.
import type {
  BackendRef,
  DestinationPolicy,
  LoadBalancer,
  RouteRule,
  ServiceEndpoint,
  TrafficPolicy,
} from '@ambit/config';
import { EngineError } from './errors.ts';

/** A uniform draw in [0, 1), injected (Math.random in production, a seeded PRNG in tests). */
export type Rand = () => number;

/** `floor(rand * n)`, kept below `n` even if a generator returns exactly 1. */
function drawIndex(rand01: Rand, n: number): number {
  return Math.min(n - 1, Math.floor(rand01() * n));
}

/**
 * One backend, with probability weight / total. Weight-0 backends never take traffic. Undefined when no backend
 * has weight (or there are none): the caller answers 500, as Gateway API requires for all-zero weights.
 */
export function pickBackend(rule: Pick<RouteRule, 'backends'>, rand01: Rand): BackendRef | undefined {
  const total = rule.backends.reduce((sum, b) => sum + Math.max(0, b.weight), 0);
  if (total <= 0) return undefined;
  let point = rand01() * total;
  let last: BackendRef | undefined;
  for (const b of rule.backends) {
    if (b.weight <= 0) continue;
    if (point < b.weight) return b;
    point -= b.weight;
    last = b;
  }
  // Only reached through float rounding at the very top of the range.
  return last;
}

/** The endpoints a backend may use, and the traffic policy that governs them. */
export interface BackendTarget {
  readonly endpoints: readonly ServiceEndpoint[];
  readonly trafficPolicy: TrafficPolicy;
}

/** `{ ...base, ...override }` without letting an absent field of the override erase the base's. */
function mergePolicy(base: TrafficPolicy, override: TrafficPolicy | undefined): TrafficPolicy {
  if (!override) return base;
  return {
    loadBalancer: override.loadBalancer ?? base.loadBalancer,
    connectionPool: override.connectionPool ?? base.connectionPool,
    outlierDetection: override.outlierDetection ?? base.outlierDetection,
  };
}

/**
 * Narrows a Service's endpoints to what `backend` may use:
 *  1. ready endpoints that serve `backend.port`;
 *  2. when the backend names a subset, only that subset's workloads, under the subset's policy layered over the
 *     DestinationRule's (Istio overrides field by field).
 * A subset the DestinationRule does not define throws ERR_UNKNOWN_SUBSET (answered 503 NC, as Envoy does).
 */
export function resolveBackend(
  backend: BackendRef,
  endpoints: readonly ServiceEndpoint[],
  destination: DestinationPolicy | undefined,
): BackendTarget {
  const base = destination?.trafficPolicy ?? {};
  const serving = endpoints.filter((e) => e.ready && e.ports[backend.port] !== undefined);
  if (backend.subset === undefined) return { endpoints: serving, trafficPolicy: base };
  const subset = destination?.subsets.find((s) => s.name === backend.subset);
  if (!subset) {
    throw new EngineError(
      'ERR_UNKNOWN_SUBSET',
      `subset ${JSON.stringify(backend.subset)} of ${backend.service} is not defined` +
        ' (maybe its DestinationRule is missing or not yet pushed)',
    );
  }
  const members = new Set(subset.workloads);
  return {
    endpoints: serving.filter((e) => members.has(e.workloadUid)),
    trafficPolicy: mergePolicy(base, subset.trafficPolicy),
  };
}

/** What the caller remembers between picks for one backend (one Envoy cluster). */
export interface LbState {
  /** ROUND_ROBIN: where the next scan starts, an index into the candidate list. */
  readonly cursor: number;
  /** Requests in flight per workload uid (LEAST_REQUEST); absent means 0. */
  readonly inFlight: ReadonlyMap<string, number>;
  /** Workload uids outlier detection has ejected right now (see outlier.ts `ejectedAt`). */
  readonly ejected: ReadonlySet<string>;
}

export const INITIAL_LB_STATE: LbState = { cursor: 0, inFlight: new Map(), ejected: new Set() };

/**
 * Hosts to steer away from when others are available: a retry avoids the hosts already tried (Envoy's
 * `previous_hosts` predicate, which Istio installs). Built by retry-policy.ts `nextEndpointPreference`.
 */
export interface EndpointPreference {
  readonly avoid: ReadonlySet<string>;
}

export interface EndpointPick<E> {
  readonly endpoint: E;
  /** The cursor to store for the next ROUND_ROBIN pick (unchanged for the other balancers). */
  readonly cursor: number;
}

/** Istio's default since 1.14: least request beats round robin under uneven request cost. */
export const DEFAULT_LOAD_BALANCER: LoadBalancer = 'LEAST_REQUEST';

/**
 * One endpoint, or undefined when none is usable (all ejected: the caller answers 503 UH; Istio's default
 * minHealthPercent of 0 disables Envoy's panic routing to ejected hosts).
 *  1. Ejected endpoints are never picked.
 *  2. Endpoints in `preference.avoid` are picked only when nothing else is usable.
 *  3. Among the rest: ROUND_ROBIN scans from the cursor; RANDOM draws uniformly; LEAST_REQUEST draws two distinct
 *     endpoints and takes the one with fewer requests in flight (power of two choices; the first on a tie).
 */
export function pickEndpoint<E extends { readonly workloadUid: string }>(
  candidates: readonly E[],
  policy: TrafficPolicy,
  state: LbState,
  rand01: Rand,
  preference?: EndpointPreference,
): EndpointPick<E> | undefined {
  const healthy = (e: E): boolean => !state.ejected.has(e.workloadUid);
  const fresh = (e: E): boolean => healthy(e) && !(preference?.avoid.has(e.workloadUid) ?? false);
  const usable = candidates.some(fresh) ? fresh : healthy;
  const algorithm = policy.loadBalancer ?? DEFAULT_LOAD_BALANCER;

  if (algorithm === 'ROUND_ROBIN') {
    // Scanning the full list (not the usable subset) keeps the rotation stable while endpoints are ejected.
    const n = candidates.length;
    for (let i = 0; i < n; i++) {
      const index = (state.cursor + i) % n;
      const endpoint = candidates[index];
      if (endpoint !== undefined && usable(endpoint)) return { endpoint, cursor: index + 1 };
    }
    return undefined;
  }

  const pool = candidates.filter(usable);
  if (pool.length === 0) return undefined;
  const i = drawIndex(rand01, pool.length);
  const first = pool[i];
  if (first === undefined) return undefined;
  if (algorithm === 'RANDOM' || pool.length === 1) return { endpoint: first, cursor: state.cursor };

  // Two distinct draws: the second skips over the first's slot.
  let j = drawIndex(rand01, pool.length - 1);
  if (j >= i) j++;
  const second = pool[j] ?? first;
  const load = (e: E): number => state.inFlight.get(e.workloadUid) ?? 0;
  return { endpoint: load(second) < load(first) ? second : first, cursor: state.cursor };
}
