// The one authorization decision (STYLE §10): pure, called at accept and again on every policy push, and the
// basis of "explain". Istio's order: any matching DENY denies; with no ALLOW policy the connection is allowed;
// any matching ALLOW allows; otherwise it is denied. `authorize` decides a connection (ztunnel); `authorizeRequest`
// decides one HTTP request at a waypoint with the same order, where a matcher with an `l7` half matches only when
// both halves do.
import type { L7Match } from './l7-model.ts';
import { hostOf, ipInCidr, matchesHostPattern, matchesPattern, pathOf } from './matchers.ts';
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

/** What a waypoint knows about one HTTP request (routing and L7 authorization). */
export interface RequestFacts {
  /** Uppercase. */
  readonly method: string;
  /** As sent (`:path` or the request-target), query string included. */
  readonly path: string;
  /** The Host header or `:authority`, possibly with a port. */
  readonly host: string;
  /** Lowercase names; a repeated header keeps all its values, in order. */
  readonly headers: Readonly<Record<string, string | readonly string[]>>;
  /** The Service port the request came to. */
  readonly port: number;
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

/**
 * Envoy's view of a repeated header: its values joined with `,` (so `when` conditions and DENY rules see exactly
 * what an Istio waypoint sees). Absent stays absent, so a positive list fails and a negative list passes.
 */
function headerValue(r: RequestFacts, name: string): string | undefined {
  const v = r.headers[name.toLowerCase()];
  return typeof v === 'string' || v === undefined ? v : v.join(',');
}

function anyHost(patterns: readonly string[], host: string): boolean {
  return patterns.some((p) => matchesHostPattern(p, host));
}

/**
 * The L7 half of a matcher, with the same list semantics as the L4 half. Paths are compared without the query
 * string (Envoy's PathMatcher), hosts without the port and case-insensitively, `when` headers all must hold.
 */
export function l7MatchMatches(m: L7Match, r: RequestFacts): boolean {
  const path = pathOf(r.path);
  const host = hostOf(r.host);
  return (
    (m.methods.length === 0 || anyPattern(m.methods, r.method)) &&
    !anyPattern(m.notMethods, r.method) &&
    (m.paths.length === 0 || anyPattern(m.paths, path)) &&
    !anyPattern(m.notPaths, path) &&
    (m.hosts.length === 0 || anyHost(m.hosts, host)) &&
    !anyHost(m.notHosts, host) &&
    m.headers.every((h) => anyPattern(h.values, headerValue(r, h.name))) &&
    !m.notHeaders.some((h) => anyPattern(h.values, headerValue(r, h.name)))
  );
}

/** Matches one matcher: the L4 half always; the L7 half too when there is a request and the matcher has one. */
type MatchFn = (m: Match) => boolean;

function ruleMatchesWith(r: Rule, matches: MatchFn): boolean {
  return r.allOf.every((a: AnyOf) => a.matches.some(matches));
}

/**
 * Whether any rule of the policy matches the connection, as ztunnel checks it (no request to look at). The control
 * plane never sends ztunnel an `l7` half; should one arrive anyway, it fails closed (DESIGN §7): an ALLOW rule with
 * one matches nothing, a DENY rule ignores it and so denies more.
 */
export function policyMatches(p: Authorization, c: ConnectionFacts): boolean {
  return p.rules.some(
    (r) =>
      !(p.action === 'Allow' && r.allOf.some((a) => a.matches.some((m) => m.l7 !== undefined))) &&
      ruleMatchesWith(r, (m) => matchMatches(m, c)),
  );
}

/** Whether any rule of the policy matches the request; a matcher with an `l7` half needs both halves to match. */
export function policyMatchesRequest(p: Authorization, c: ConnectionFacts, r: RequestFacts): boolean {
  return p.rules.some((rule) =>
    ruleMatchesWith(rule, (m) => matchMatches(m, c) && (m.l7 === undefined || l7MatchMatches(m.l7, r))),
  );
}

/** Istio's order, shared by connections and requests; `matches` says whether one policy matches. */
function decide(
  policies: readonly Authorization[],
  c: ConnectionFacts,
  mtls: MtlsPolicy | undefined,
  matches: (p: Authorization) => boolean,
): Decision {
  if (mtls && !c.peer && (mtls.ports[c.destinationPort] ?? mtls.mode) === 'STRICT') {
    return { allowed: false, reason: 'mtls-required' };
  }
  const deny = policies.find((p) => p.action === 'Deny' && matches(p));
  if (deny) return { allowed: false, reason: 'denied-by-policy', policy: deny };
  const allows = policies.filter((p) => p.action === 'Allow');
  if (allows.length === 0) return { allowed: true };
  const allow = allows.find(matches);
  if (allow) return { allowed: true, policy: allow };
  return { allowed: false, reason: 'not-allowed-by-any-policy' };
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
  return decide(policies, c, mtls, (p) => policyMatches(p, c));
}

/**
 * Decides one HTTP request at a waypoint: the connection's L4 facts plus the request's, DENY first as for
 * connections. The same function backs re-checks and "explain".
 */
export function authorizeRequest(
  policies: readonly Authorization[],
  c: ConnectionFacts,
  r: RequestFacts,
  mtls?: MtlsPolicy,
): Decision {
  return decide(policies, c, mtls, (p) => policyMatchesRequest(p, c, r));
}
