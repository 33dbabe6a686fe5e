import type { ConnectionPool } from '@ambit/config';
import { describe, expect, it } from 'vitest';
import { admit, connectionReusable, type PoolCounters } from './connection-pool.ts';

const counters = (connections: number, idleConnections: number, pendingRequests: number): PoolCounters => ({
  connections,
  idleConnections,
  pendingRequests,
});
const overflow = (n: number): unknown => ({
  ok: false,
  status: 503,
  flag: 'UO',
  reason: `upstream overflow: maxPendingRequests ${n} exceeded`,
});

describe('admit', () => {
  // Istio's circuit-breaking task: one connection, one pending request.
  const tight: ConnectionPool = { maxConnections: 1, maxPendingRequests: 1, maxRequestsPerConnection: 1 };
  it.each<[string, ConnectionPool | undefined, PoolCounters, unknown]>([
    ['no limits', undefined, counters(100, 0, 100), { ok: true, action: 'connect' }],
    ['an idle connection', tight, counters(1, 1, 0), { ok: true, action: 'reuse' }],
    ['room for a connection', tight, counters(0, 0, 0), { ok: true, action: 'connect' }],
    ['at maxConnections: wait', tight, counters(1, 0, 0), { ok: true, action: 'queue' }],
    ['queue full: 503 UO', tight, counters(1, 0, 1), overflow(1)],
    [
      'maxConnections alone never refuses',
      { maxConnections: 1 },
      counters(1, 0, 1000),
      { ok: true, action: 'queue' },
    ],
    ['no queue at all', { maxConnections: 2, maxPendingRequests: 0 }, counters(2, 0, 0), overflow(0)],
  ])('%s', (_name, pool, c, expected) => {
    expect(admit(pool, c)).toEqual(expected);
  });
});

describe('connectionReusable', () => {
  it.each([
    [undefined, 1000, true],
    [{ maxRequestsPerConnection: 1 }, 0, true],
    [{ maxRequestsPerConnection: 1 }, 1, false],
    [{ maxRequestsPerConnection: 0 }, 1000, true],
  ])('%j after %i requests: %s', (pool, served, expected) => {
    expect(connectionReusable(pool, served)).toBe(expected);
  });
});
