// The one authorization decision (STYLE §10): pure, called at accept and again on every policy push, and the
// basis of "explain". Istio's order: any matching DENY denies; with no ALLOW policy the connection is allowed;
// any matching ALLOW allows; otherwise it is denied.
import { ipInCidr, matchesPattern } from './matchers.ts';
import type { AnyOf, Authorization, Match, MtlsPolicy, Rule } from './model.ts';

/** What ztunnel knows about a connection when it decides. */
export interface ConnectionFacts {
  readonly sourceIp: string;
  readonly destinationIp: string;
  /** The pod's port (after Service port → target port). */
  readonly destinationPort: number;
  /** The mTLS peer; undefined for a plaintext caller. */
  readonly peer?: {
    /** `<trust-domain>/ns/<ns>/sa/<sa>`, as Istio writes principals (no `spiffe://`). */
    readonly principal: string;
    readonly namespace: string;
  };
}

export type Decision =
  | { readonly allowed: true; readonly policy?: Authorization }
  | { readonly allowed: false; readonly reason: 'denied-by-policy'; readonly policy: Authorization }
  | { readonly allowed: false; readonly reason: 'not-allowed-by-any-policy' }
  /** STRICT PeerAuthentication and a caller without a peer identity: acts as a DENY that beats any ALLOW. */
  | { readonly allowed: false; readonly reason: 'mtls-required' };

function anyPattern(patterns: readonly string[], value: string | undefined): boolean {
  return patterns.some((p) => matchesPattern(p, value));
}

function anyCidr(cidrs: readonly string[], ip: string): boolean {
  return cidrs.some((c) => ipInCidr(ip, c));
}

/** Positive lists must contain the value when set; negative lists must not. */
export function matchMatches(m: Match, c: ConnectionFacts): boolean {
  const principal = c.peer?.principal;
  const namespace = c.peer?.namespace;
  return (
    (m.principals.length === 0 || anyPattern(m.principals, principal)) &&
    !anyPattern(m.notPrincipals, principal) &&
    (m.namespaces.length === 0 || anyPattern(m.namespaces, namespace)) &&
    !anyPattern(m.notNamespaces, namespace) &&
    (m.sourceIps.length === 0 || anyCidr(m.sourceIps, c.sourceIp)) &&
    !anyCidr(m.notSourceIps, c.sourceIp) &&
    (m.destinationIps.length === 0 || anyCidr(m.destinationIps, c.destinationIp)) &&
    !anyCidr(m.notDestinationIps, c.destinationIp) &&
    (m.destinationPorts.length === 0 || m.destinationPorts.includes(c.destinationPort)) &&
    !m.notDestinationPorts.includes(c.destinationPort)
  );
}

function anyOfMatches(a: AnyOf, c: ConnectionFacts): boolean {
  return a.matches.some((m) => matchMatches(m, c));
}

function ruleMatches(r: Rule, c: ConnectionFacts): boolean {
  return r.allOf.every((a) => anyOfMatches(a, c));
}

/** Whether any rule of the policy matches the connection. */
export function policyMatches(p: Authorization, c: ConnectionFacts): boolean {
  return p.rules.some((r) => ruleMatches(r, c));
}

/**
 * Decides a connection against the policies that apply to its destination workload and, when given, the
 * workload's mTLS requirement (STRICT refuses callers without a peer identity before any policy is consulted).
 */
export function authorize(
  policies: readonly Authorization[],
  c: ConnectionFacts,
  mtls?: MtlsPolicy,
): Decision {
  if (mtls && !c.peer && (mtls.ports[c.destinationPort] ?? mtls.mode) === 'STRICT') {
    return { allowed: false, reason: 'mtls-required' };
  }
  const deny = policies.find((p) => p.action === 'Deny' && policyMatches(p, c));
  if (deny) return { allowed: false, reason: 'denied-by-policy', policy: deny };
  const allows = policies.filter((p) => p.action === 'Allow');
  if (allows.length === 0) return { allowed: true };
  const allow = allows.find((p) => policyMatches(p, c));
  if (allow) return { allowed: true, policy: allow };
  return { allowed: false, reason: 'not-allowed-by-any-policy' };
}
