// Whether a failed try is tried again, and where: Envoy's `retry_on` conditions as Istio and Gateway API
// configure them, the retry budget of `attempts`, and the preference for a host not yet tried.
import type { RetryPolicy } from '@ambit/config';
import type { EndpointPreference, Rand } from './backend-pick.ts';

/** How one try ended. A response has `status` (and `grpcStatus` from its headers or trailers, if any). */
export interface TryOutcome {
  readonly status?: number;
  /** gRPC status code, for the gRPC conditions (`unavailable`, …). */
  readonly grpcStatus?: number;
  /** The upstream stream or connection ended without a response (includes a per-try timeout). */
  readonly reset?: boolean;
  /** The upstream connection could not be established (a kind of reset in Envoy's terms). */
  readonly connectFailure?: boolean;
  /** HTTP/2 REFUSED_STREAM: the upstream did not process the request. */
  readonly refusedStream?: boolean;
}

export type RetryDecision =
  | { readonly retry: true }
  /** `retries-exhausted`: retriable, but the budget is spent (response flag URX). */
  | { readonly retry: false; readonly reason: 'not-retriable' | 'retries-exhausted' };

/** Envoy's gRPC retry conditions, by the gRPC status they retry. */
const GRPC_CONDITIONS: Readonly<Record<string, number>> = {
  cancelled: 1,
  'deadline-exceeded': 4,
  'resource-exhausted': 8,
  internal: 13,
  unavailable: 14,
};

function noResponse(o: TryOutcome): boolean {
  return (
    o.status === undefined && (o.reset === true || o.connectFailure === true || o.refusedStream === true)
  );
}

/**
 * Whether one `retry_on` condition covers the outcome (Envoy router docs):
 *  - `5xx`: any 5xx, or no response at all (reset, connect failure, per-try timeout);
 *  - `gateway-error`: 502, 503, 504, or no response at all;
 *  - `reset`: no response at all; `connect-failure`: the connection failed; `refused-stream`: REFUSED_STREAM;
 *  - `retriable-4xx`: 409; `retriable-status-codes`: the policy's list;
 *  - `cancelled`, `deadline-exceeded`, `internal`, `resource-exhausted`, `unavailable`: that gRPC status.
 * Unknown conditions cover nothing (the control plane rejects them before they get here).
 */
function conditionCovers(condition: string, policy: RetryPolicy, o: TryOutcome): boolean {
  const status = o.status;
  switch (condition) {
    case '5xx':
      return noResponse(o) || (status !== undefined && status >= 500 && status <= 599);
    case 'gateway-error':
      return noResponse(o) || status === 502 || status === 503 || status === 504;
    case 'reset':
      return noResponse(o);
    case 'connect-failure':
      return o.connectFailure === true;
    case 'refused-stream':
      return o.refusedStream === true;
    case 'retriable-4xx':
      return status === 409;
    case 'retriable-status-codes':
      return status !== undefined && policy.retriableStatusCodes.includes(status);
    default: {
      const grpc = GRPC_CONDITIONS[condition];
      return grpc !== undefined && o.grpcStatus === grpc;
    }
  }
}

/**
 * Decides after try number `attempt` (1 for the first try). `policy.attempts` counts retries after the first
 * try, so at most `1 + attempts` tries are made. As in Envoy, `retriableStatusCodes` only count when
 * `retry_on` has `retriable-status-codes` (Istio's translation adds it for numeric `retryOn` entries).
 */
export function shouldRetry(
  policy: RetryPolicy | undefined,
  attempt: number,
  outcome: TryOutcome,
): RetryDecision {
  if (!policy || !policy.retryOn.some((c) => conditionCovers(c, policy, outcome))) {
    return { retry: false, reason: 'not-retriable' };
  }
  if (attempt > policy.attempts) return { retry: false, reason: 'retries-exhausted' };
  return { retry: true };
}

/**
 * Where the next try should go: anywhere but the hosts already tried, when another is usable (Istio installs
 * Envoy's `previous_hosts` predicate; DESIGN §8 retries acceptance). `tried` are workload uids.
 */
export function nextEndpointPreference(tried: readonly string[]): EndpointPreference {
  return { avoid: new Set(tried) };
}

/** Envoy's default retry back-off: base 25 ms, capped at 10× the base. */
export const RETRY_BASE_INTERVAL_MS = 25;

/**
 * The wait before retry number `retry` (1 for the first retry): fully jittered exponential back-off, uniform in
 * [0, min((2^retry − 1) × base, 10 × base)), the intervals Envoy's router documents (0–25, 0–75, 0–175 ms, …).
 */
export function retryBackoffMs(retry: number, rand01: Rand, baseMs = RETRY_BASE_INTERVAL_MS): number {
  const ceiling = Math.min(baseMs * (2 ** Math.max(1, retry) - 1), baseMs * 10);
  return Math.floor(rand01() * ceiling);
}
