// The seed walkthrough at L7 (issue 6 acceptance): an ALLOW for sa/sleep with methods GET.
import { EMPTY_L7_MATCH, EMPTY_MATCH, type Authorization, type ConnectionFacts } from '@ambit/config';
import { describe, expect, it } from 'vitest';
import { authorizeL7 } from './l7-authorize.ts';
import { request } from './testing/builders.ts';

const source = { group: 'security.istio.io', kind: 'AuthorizationPolicy', namespace: 'default', name: 'p' };
function policy(
  name: string,
  action: Authorization['action'],
  match: Authorization['rules'][0],
): Authorization {
  return {
    id: `default/${name}`,
    name,
    namespace: 'default',
    scope: 'Namespace',
    action,
    rules: [match],
    source,
  };
}
const conn = (sa: string): ConnectionFacts => ({
  sourceIp: '10.244.1.5',
  destinationIp: '10.96.0.10',
  destinationPort: 9080,
  peer: { principal: `cluster.local/ns/default/sa/${sa}`, namespace: 'default' },
});

const allowSleepGet = policy('productpage-viewer', 'Allow', {
  allOf: [
    { matches: [{ ...EMPTY_MATCH, principals: ['cluster.local/ns/default/sa/sleep'] }] },
    { matches: [{ ...EMPTY_MATCH, l7: { ...EMPTY_L7_MATCH, methods: ['GET'] } }] },
  ],
});
const denyAdmin = policy('no-admin', 'Deny', {
  allOf: [{ matches: [{ ...EMPTY_MATCH, l7: { ...EMPTY_L7_MATCH, paths: ['/admin*'] } }] }],
});
const denied = { allowed: false, status: 403, body: 'RBAC: access denied' };

describe('authorizeL7', () => {
  it.each([
    ['GET from sa/sleep', 'sleep', 'GET', '/productpage', { allowed: true, policy: allowSleepGet }],
    [
      'DELETE from sa/sleep',
      'sleep',
      'DELETE',
      '/productpage',
      { ...denied, reason: 'not-allowed-by-any-policy' },
    ],
    [
      'GET from sa/notsleep',
      'notsleep',
      'GET',
      '/productpage',
      { ...denied, reason: 'not-allowed-by-any-policy' },
    ],
    [
      'a DENY on the path first',
      'sleep',
      'GET',
      '/admin/x',
      { ...denied, reason: 'denied-by-policy', policy: denyAdmin },
    ],
  ])('%s', (_name, sa, method, path, expected) => {
    expect(authorizeL7([allowSleepGet, denyAdmin], conn(sa), request({ method, path }))).toEqual(expected);
  });

  it('allows everything without policies', () => {
    expect(authorizeL7([], conn('anyone'), request({ method: 'DELETE' }))).toEqual({ allowed: true });
  });
});
