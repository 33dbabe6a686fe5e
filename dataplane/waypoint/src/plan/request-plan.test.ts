// The per-request decision as a table over config (STYLE §9): no sockets.
import type { ConnectionFacts, RequestFacts } from '@ambit/config';
import { describe, expect, it } from 'vitest';
import { buildIndex } from '../state/waypoint-index.ts';
import { allow, service, state, WAYPOINT, workload } from '../testing/records.ts';
import { planRequest } from './request-plan.ts';

const conn: ConnectionFacts = {
  sourceIp: '10.0.0.5',
  destinationIp: '10.96.0.20',
  destinationPort: 9080,
  peer: { principal: 'cluster.local/ns/default/sa/sleep', namespace: 'default' },
};
const req = (over: Partial<RequestFacts> = {}): RequestFacts => ({
  method: 'GET',
  path: '/reviews/1',
  host: 'reviews',
  headers: {},
  port: 9080,
  ...over,
});
const fixed = (v: number) => () => v;

const reviews = service('reviews', '10.96.0.20', 9080, { 'uid-r1': 9080, 'uid-r2': 9080 });
const base = {
  workloads: [workload('r1', '10.1.0.1'), workload('r2', '10.1.0.2')],
  services: [reviews],
};

function plan(records: Parameters<typeof state>[0], r = req(), rand = fixed(0.5)) {
  const index = buildIndex(state(records), WAYPOINT);
  const d = index.destination('10.96.0.20', 9080)!;
  return planRequest(index, d, conn, r, rand);
}

describe('planRequest', () => {
  it('takes the default route (all endpoints, request unchanged) when no table exists', () => {
    const p = plan(base);
    expect(p).toMatchObject({ kind: 'forward', routeName: 'default', cluster: { id: 'default/reviews' } });
    if (p.kind === 'forward') expect(p.cluster.target.endpoints).toHaveLength(2);
  });

  it('denies before routing', () => {
    const p = plan(
      { ...base, authorizations: [allow('default/a', {}, { methods: ['GET'] })] },
      req({ method: 'DELETE' }),
    );
    expect(p).toEqual({ kind: 'deny', status: 403, body: 'RBAC: access denied' });
  });

  it('aborts with fault injection, redirects, and rewrites with header changes', () => {
    const table = (rule: object) => ({
      routeTables: [
        {
          id: 'default/reviews',
          service: 'default/reviews',
          protocol: 'HTTP' as const,
          sources: [],
          rules: [
            {
              name: 'r#0',
              matches: [],
              backends: [{ service: 'default/reviews', port: 9080, weight: 1 }],
              mirrors: [],
              ...rule,
            },
          ],
        },
      ],
    });
    expect(plan({ ...base, ...table({ fault: { abort: { status: 418, percent: 100 } } }) })).toMatchObject({
      kind: 'abort',
      status: 418,
    });
    expect(plan({ ...base, ...table({ redirect: { statusCode: 301, host: 'new' } }) })).toMatchObject({
      kind: 'redirect',
      status: 301,
      location: 'http://new:9080/reviews/1',
    });
    const p = plan({
      ...base,
      ...table({
        rewrite: { path: { full: '/v2' } },
        requestHeaders: { set: [{ name: 'x-a', value: '1' }], add: [], remove: [] },
        timeoutMs: 250,
      }),
    });
    expect(p).toMatchObject({
      kind: 'forward',
      timeoutMs: 250,
      request: { path: '/v2', headers: { 'x-a': '1' } },
    });
  });

  it('throws typed errors for a route naming an unknown Service or subset', () => {
    const to = (backend: { service: string; subset?: string }) => ({
      routeTables: [
        {
          id: 'default/reviews',
          service: 'default/reviews',
          protocol: 'HTTP' as const,
          sources: [],
          rules: [
            { name: 'r#0', matches: [], backends: [{ port: 9080, weight: 1, ...backend }], mirrors: [] },
          ],
        },
      ],
    });
    expect(() => plan({ ...base, ...to({ service: 'default/nope' }) })).toThrow(
      expect.objectContaining({ code: 'ERR_WAYPOINT_UNKNOWN_SERVICE' }),
    );
    expect(() => plan({ ...base, ...to({ service: 'default/reviews', subset: 'v9' }) })).toThrow(
      expect.objectContaining({ code: 'ERR_UNKNOWN_SUBSET' }),
    );
  });
});
