// Connection-pool admission (DestinationRule `connectionPool`, Envoy's circuit breakers): whether a request may
// go upstream now, wait, or is refused with 503 UO. Counters are the caller's; this only reads them.
import type { ConnectionPool } from '@ambit/config';

/** The pool of one backend (one Envoy cluster) right before a request is admitted. */
export interface PoolCounters {
  /** Upstream connections open or being opened. */
  readonly connections: number;
  /** Of those, connections that can take a request right now. */
  readonly idleConnections: number;
  /** Requests already waiting for a connection. */
  readonly pendingRequests: number;
}

export type Admission =
  /** `reuse` an idle connection, `connect` a new one, or `queue` until one is free. */
  | { readonly ok: true; readonly action: 'reuse' | 'connect' | 'queue' }
  | { readonly ok: false; readonly status: 503; readonly flag: 'UO'; readonly reason: string };

/**
 * Envoy's order for an HTTP/1 upstream pool; an absent limit is no limit:
 *  1. an idle connection takes the request;
 *  2. else a new connection, while fewer than `maxConnections` are open;
 *  3. else the request waits, while fewer than `maxPendingRequests` already do;
 *  4. else 503 with flag UO. Reaching `maxConnections` alone never refuses a request: it makes requests wait,
 *     so a refusal always names `maxPendingRequests` (Istio's circuit-breaking task sets both).
 */
export function admit(pool: ConnectionPool | undefined, counters: PoolCounters): Admission {
  if (counters.idleConnections > 0) return { ok: true, action: 'reuse' };
  const maxConnections = pool?.maxConnections;
  if (maxConnections === undefined || counters.connections < maxConnections) {
    return { ok: true, action: 'connect' };
  }
  const maxPending = pool?.maxPendingRequests;
  if (maxPending === undefined || counters.pendingRequests < maxPending) return { ok: true, action: 'queue' };
  return {
    ok: false,
    status: 503,
    flag: 'UO',
    reason: `upstream overflow: maxPendingRequests ${maxPending} exceeded`,
  };
}

/**
 * Whether a connection that has served `requestsServed` requests may take another (`maxRequestsPerConnection`:
 * Envoy closes it after that many, so the next request gets a fresh connection rather than a 503).
 */
export function connectionReusable(pool: ConnectionPool | undefined, requestsServed: number): boolean {
  const max = pool?.maxRequestsPerConnection;
  return max === undefined || max <= 0 || requestsServed < max;
}
