// The decision order itself; policy semantics from Istio YAML are tested with the translation (operator).
import { describe, expect, it } from 'vitest';
import { authorize, type ConnectionFacts } from './authorize.ts';
import { EMPTY_MATCH, type Authorization } from './model.ts';

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
