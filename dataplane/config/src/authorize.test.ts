// The decision order itself; policy semantics from Istio YAML are tested with the translation (operator).
import { describe, expect, it } from 'vitest';
import {
  authorize,
  authorizeRequest,
  l7MatchMatches,
  type ConnectionFacts,
  type RequestFacts,
} from './authorize.ts';
import { EMPTY_L7_MATCH, type L7Match } from './l7-model.ts';
import { EMPTY_MATCH, type Authorization, type Match } from './model.ts';

function policy(name: string, action: Authorization['action'], principals: string[]): Authorization {
  return {
    id: `ns/${name}`,
    name,
    namespace: 'ns',
    scope: 'Namespace',
    action,
    rules: [{ allOf: [{ matches: [{ ...EMPTY_MATCH, principals }] }] }],
    source: { group: 'security.istio.io', kind: 'AuthorizationPolicy', namespace: 'ns', name },
  };
}

const peer = { principal: 'td/ns/a/sa/b', namespace: 'a' };
const mtlsConn: ConnectionFacts = {
  sourceIp: '10.0.0.1',
  destinationIp: '10.0.0.2',
  destinationPort: 80,
  peer,
};
const plainConn: ConnectionFacts = { sourceIp: '10.0.0.1', destinationIp: '10.0.0.2', destinationPort: 80 };

describe('authorize', () => {
  it('names the DENY policy that refused the connection', () => {
    const deny = policy('d', 'Deny', ['td/ns/a/*']);
    expect(authorize([policy('a', 'Allow', ['*']), deny], mtlsConn)).toEqual({
      allowed: false,
      reason: 'denied-by-policy',
      policy: deny,
    });
  });

  it('names the ALLOW policy that admitted the connection', () => {
    const allow = policy('a', 'Allow', ['td/ns/a/sa/b']);
    expect(authorize([policy('x', 'Allow', ['other']), allow], mtlsConn)).toEqual({
      allowed: true,
      policy: allow,
    });
  });

  it('denies when ALLOW policies exist and none matches', () => {
    expect(authorize([policy('x', 'Allow', ['other'])], mtlsConn)).toEqual({
      allowed: false,
      reason: 'not-allowed-by-any-policy',
    });
  });

  it('lets STRICT refuse a plaintext caller even under an allow-all policy', () => {
    const allowAll: Authorization = { ...policy('all', 'Allow', []), rules: [{ allOf: [] }] };
    const strict = { mode: 'STRICT' as const, ports: {} };
    expect(authorize([allowAll], plainConn, strict)).toEqual({ allowed: false, reason: 'mtls-required' });
    expect(authorize([allowAll], mtlsConn, strict)).toEqual({ allowed: true, policy: allowAll });
  });

  it('applies a per-port PERMISSIVE exception to STRICT', () => {
    const mtls = { mode: 'STRICT' as const, ports: { 80: 'PERMISSIVE' as const } };
    expect(authorize([], plainConn, mtls)).toEqual({ allowed: true });
    expect(authorize([], { ...plainConn, destinationPort: 81 }, mtls).allowed).toBe(false);
  });
});

const get: RequestFacts = {
  method: 'GET',
  path: '/api/v1/items?limit=5',
  host: 'Reviews.Default.svc:9080',
  headers: { 'x-user': 'jason', 'x-tags': ['a', 'b'] },
  port: 9080,
};

describe('l7MatchMatches', () => {
  const l7 = (over: Partial<L7Match>): L7Match => ({ ...EMPTY_L7_MATCH, ...over });
  it.each<[string, L7Match, boolean]>([
    ['empty matches everything', EMPTY_L7_MATCH, true],
    ['method', l7({ methods: ['GET', 'HEAD'] }), true],
    ['other method', l7({ methods: ['POST'] }), false],
    ['notMethods', l7({ notMethods: ['GET'] }), false],
    ['exact path, query ignored', l7({ paths: ['/api/v1/items'] }), true],
    ['prefix path', l7({ paths: ['/api/*'] }), true],
    ['suffix path', l7({ paths: ['*/items'] }), true],
    ['path with the query does not match', l7({ paths: ['/api/v1/items?limit=5'] }), false],
    ['notPaths', l7({ notPaths: ['/api/*'] }), false],
    ['host without port, any case', l7({ hosts: ['reviews.default.svc'] }), true],
    ['host suffix', l7({ hosts: ['*.DEFAULT.svc'] }), true],
    ['other host', l7({ hosts: ['ratings.default.svc'] }), false],
    ['notHosts', l7({ notHosts: ['*.default.svc'] }), false],
    ['header value', l7({ headers: [{ name: 'x-user', values: ['jason', 'bob'] }] }), true],
    ['header name any case', l7({ headers: [{ name: 'X-User', values: ['jas*'] }] }), true],
    [
      'every header condition holds',
      l7({
        headers: [
          { name: 'x-user', values: ['*'] },
          { name: 'x-no', values: ['*'] },
        ],
      }),
      false,
    ],
    ['repeated header joined with a comma', l7({ headers: [{ name: 'x-tags', values: ['a,b'] }] }), true],
    ['absent header misses a positive list', l7({ headers: [{ name: 'x-none', values: ['*'] }] }), false],
    ['absent header passes a negative list', l7({ notHeaders: [{ name: 'x-none', values: ['*'] }] }), true],
    ['notHeaders', l7({ notHeaders: [{ name: 'x-user', values: ['jason'] }] }), false],
  ])('%s', (_name, m, expected) => {
    expect(l7MatchMatches(m, get)).toBe(expected);
  });
});

describe('authorizeRequest', () => {
  const withL7 = (name: string, action: Authorization['action'], m: Partial<Match>): Authorization => ({
    ...policy(name, action, []),
    rules: [{ allOf: [{ matches: [{ ...EMPTY_MATCH, ...m }] }] }],
  });
  const getOnly = { ...EMPTY_L7_MATCH, methods: ['GET'] };
  const del: RequestFacts = { ...get, method: 'DELETE' };

  it('needs both halves of a matcher to match', () => {
    const allow = withL7('a', 'Allow', { principals: ['td/ns/a/sa/b'], l7: getOnly });
    expect(authorizeRequest([allow], mtlsConn, get)).toEqual({ allowed: true, policy: allow });
    expect(authorizeRequest([allow], mtlsConn, del)).toEqual({
      allowed: false,
      reason: 'not-allowed-by-any-policy',
    });
    expect(authorizeRequest([allow], plainConn, get)).toEqual({
      allowed: false,
      reason: 'not-allowed-by-any-policy',
    });
  });

  it('checks DENY first, by request attributes too', () => {
    const allowAll = withL7('all', 'Allow', {});
    const denyDelete = withL7('d', 'Deny', { l7: { ...EMPTY_L7_MATCH, methods: ['DELETE'] } });
    expect(authorizeRequest([allowAll, denyDelete], mtlsConn, del)).toEqual({
      allowed: false,
      reason: 'denied-by-policy',
      policy: denyDelete,
    });
    expect(authorizeRequest([allowAll, denyDelete], mtlsConn, get)).toEqual({
      allowed: true,
      policy: allowAll,
    });
  });

  it('decides a matcher without an l7 half on L4 alone, as authorize does', () => {
    const allow = policy('a', 'Allow', ['td/ns/a/sa/b']);
    expect(authorizeRequest([allow], mtlsConn, del)).toEqual(authorize([allow], mtlsConn));
  });

  it('keeps STRICT ahead of every policy', () => {
    const strict = { mode: 'STRICT' as const, ports: {} };
    expect(authorizeRequest([], plainConn, get, strict)).toEqual({ allowed: false, reason: 'mtls-required' });
  });
});

describe('authorize (connections) given an L7 half', () => {
  const facts = {
    sourceIp: '10.0.0.1',
    destinationIp: '10.0.0.2',
    destinationPort: 8080,
    peer: { principal: 'cluster.local/ns/a/sa/sleep', namespace: 'a' },
  };
  const withL7 = (action: 'Allow' | 'Deny') => ({
    id: 'a/p',
    name: 'p',
    namespace: 'a',
    scope: 'Namespace' as const,
    action,
    rules: [{ allOf: [{ matches: [{ ...EMPTY_MATCH, l7: { ...EMPTY_L7_MATCH, methods: ['GET'] } }] }] }],
    source: { group: '', kind: 'AuthorizationPolicy', namespace: 'a', name: 'p' },
  });
  it('fails closed: an ALLOW rule with L7 matches nothing, a DENY one denies the whole L4 scope', () => {
    expect(authorize([withL7('Allow')], facts).allowed).toBe(false);
    expect(authorize([withL7('Deny')], facts).allowed).toBe(false);
  });
});
