import { authorizeRequest, type RequestFacts } from '@ambit/config';
import type { AuthorizationPolicy } from '@ambit/codegen/crds';
import { describe, expect, it } from 'vitest';
import { translateWaypointPolicy } from './waypoint-policy.ts';

function ap(
  spec: NonNullable<AuthorizationPolicy['spec']>,
  name = 'productpage-viewer',
): AuthorizationPolicy {
  return {
    apiVersion: 'security.istio.io/v1',
    kind: 'AuthorizationPolicy',
    metadata: { name, namespace: 'default' },
    spec,
  };
}
const toProductpage = [{ kind: 'Service', group: '', name: 'productpage' }];
const conn = (principal: string) => ({
  sourceIp: '10.244.1.5',
  destinationIp: '10.96.0.20',
  destinationPort: 9080,
  peer: { principal, namespace: 'default' },
});
const request = (method: string, headers: RequestFacts['headers'] = {}): RequestFacts => ({
  method,
  path: '/productpage',
  host: 'productpage:9080',
  headers,
  port: 9080,
});
const SLEEP = 'cluster.local/ns/default/sa/sleep';
const NOTSLEEP = 'cluster.local/ns/default/sa/notsleep';

function record(p: AuthorizationPolicy) {
  const t = translateWaypointPolicy(p);
  if (t.kind !== 'waypoint') throw new Error(`expected a waypoint copy, got ${t.kind}`);
  return t;
}

describe('translateWaypointPolicy', () => {
  it("enforces the walkthrough's L7 policy: GET from sa/sleep only", () => {
    const t = record(
      ap({
        targetRefs: toProductpage,
        action: 'ALLOW',
        rules: [{ from: [{ source: { principals: [SLEEP] } }], to: [{ operation: { methods: ['GET'] } }] }],
      }),
    );
    expect(t.record.targets).toEqual(['service:default/productpage']);
    expect(t.notes).toEqual([]);
    const allowed = (principal: string, method: string) =>
      authorizeRequest([t.record], conn(principal), request(method)).allowed;
    expect(allowed(SLEEP, 'GET')).toBe(true);
    expect(allowed(SLEEP, 'DELETE')).toBe(false);
    expect(allowed(NOTSLEEP, 'GET')).toBe(false);
  });

  it('targets a waypoint Gateway, and checks request headers and service accounts in when', () => {
    const t = record(
      ap({
        targetRefs: [{ kind: 'Gateway', group: 'gateway.networking.k8s.io', name: 'waypoint' }],
        action: 'DENY',
        rules: [
          {
            when: [
              { key: 'request.headers[X-Debug]', values: ['1'] },
              { key: 'source.serviceAccount', values: ['default/notsleep'] },
            ],
          },
        ],
      }),
    );
    expect(t.record.targets).toEqual(['gateway:default/waypoint']);
    const denied = (principal: string, headers: RequestFacts['headers']) =>
      !authorizeRequest([t.record], conn(principal), request('GET', headers)).allowed;
    expect(denied(NOTSLEEP, { 'x-debug': '1' })).toBe(true);
    expect(denied(NOTSLEEP, {})).toBe(false);
    expect(denied(SLEEP, { 'x-debug': '1' })).toBe(false);
  });

  it('fails closed on fields it cannot check: an ALLOW rule is dropped, a DENY rule denies more', () => {
    const allow = record(
      ap({ targetRefs: toProductpage, rules: [{ from: [{ source: { requestPrincipals: ['*'] } }] }] }),
    );
    expect(allow.record.rules).toEqual([]);
    expect(allow.notes[0]?.message).toContain('requestPrincipals');
    expect(authorizeRequest([allow.record], conn(SLEEP), request('GET')).allowed).toBe(false);

    const deny = record(
      ap({
        targetRefs: toProductpage,
        action: 'DENY',
        rules: [
          {
            to: [{ operation: { methods: ['DELETE'] } }],
            when: [{ key: 'request.auth.claims[iss]', values: ['x'] }],
          },
        ],
      }),
    );
    expect(deny.notes[0]?.message).toContain('request.auth.claims[iss]');
    expect(authorizeRequest([deny.record], conn(SLEEP), request('DELETE')).allowed).toBe(false);
    expect(authorizeRequest([deny.record], conn(SLEEP), request('GET')).allowed).toBe(true);
  });

  it('reports invalid ports and unsupported actions', () => {
    expect(
      translateWaypointPolicy(
        ap({ targetRefs: toProductpage, rules: [{ to: [{ operation: { ports: ['http'] } }] }] }),
      ).kind,
    ).toBe('invalid');
    expect(
      translateWaypointPolicy(ap({ targetRefs: toProductpage, action: 'CUSTOM', provider: { name: 'x' } }))
        .kind,
    ).toBe('not-enforced');
  });
});
