// Gateway API route precedence: the order in which a waypoint tries the matches of every route attached to one
// Service. Each comparator returns a negative number when `a` takes precedence over `b`.
//
// HTTPRoute (spec of HTTPRouteRule.matches), continuing on ties:
//  1. Exact path, then PathPrefix, then RegularExpression. Regex precedence is implementation-specific; Ambit puts
//     it after every prefix, as Istio's `sortHTTPRoutes` does.
//  2. More characters in the path value (a PathPrefix counted without its trailing slash, which it ignores).
//  3. A method match.
//  4. More header matches.
//  5. More query parameter matches.
// GRPCRoute (spec of GRPCRouteRule.matches): more characters in the service, then in the method, then more header
// matches. The spec does not say how to count a RegularExpression (`a\.b` is longer than `a.b` yet no more
// specific), so Ambit puts regex method matches after every exact one and before matches without a method, as
// Istio's shared HTTP sort does (exact and prefix paths, then regex, then none).
// Route hostnames come first in both specs but do not apply to Service parents.
// Then, for both: the oldest route (creationTimestamp), `<namespace>/<name>` alphabetically, rule order, match order.

/** How specific one HTTPRoute match is. */
export interface HttpSpecificity {
  readonly pathType: 'Exact' | 'PathPrefix' | 'RegularExpression';
  /** Characters in the path value; a PathPrefix is counted without its trailing slash. */
  readonly pathLength: number;
  readonly method: boolean;
  readonly headers: number;
  readonly queryParams: number;
}

/** How specific one GRPCRoute match is. */
export interface GrpcSpecificity {
  /** The method match's type; `None` when the match has no method. */
  readonly methodType: 'Exact' | 'RegularExpression' | 'None';
  /** Characters in the service (0 when the match names none). */
  readonly serviceLength: number;
  /** Characters in the method (0 when the match names none). */
  readonly methodLength: number;
  readonly headers: number;
}

/** Where a match was written: breaks ties between equally specific matches. */
export interface MatchOrigin {
  /** RFC 3339, as Kubernetes writes it; absent sorts as the newest. */
  readonly creationTimestamp?: string;
  readonly namespace: string;
  readonly name: string;
  readonly ruleIndex: number;
  readonly matchIndex: number;
}

/** A match with what decides its place. */
export interface Ranked<S> {
  readonly specificity: S;
  readonly origin: MatchOrigin;
}

const PATH_TYPE_RANK: Readonly<Record<HttpSpecificity['pathType'], number>> = {
  Exact: 0,
  PathPrefix: 1,
  RegularExpression: 2,
};

const METHOD_TYPE_RANK: Readonly<Record<GrpcSpecificity['methodType'], number>> = {
  Exact: 0,
  RegularExpression: 1,
  None: 2,
};

/** Orders by `more` descending: the larger count takes precedence. */
function more(a: number, b: number): number {
  return b - a;
}

export function compareHttpSpecificity(a: HttpSpecificity, b: HttpSpecificity): number {
  return (
    PATH_TYPE_RANK[a.pathType] - PATH_TYPE_RANK[b.pathType] ||
    more(a.pathLength, b.pathLength) ||
    more(Number(a.method), Number(b.method)) ||
    more(a.headers, b.headers) ||
    more(a.queryParams, b.queryParams)
  );
}

export function compareGrpcSpecificity(a: GrpcSpecificity, b: GrpcSpecificity): number {
  return (
    METHOD_TYPE_RANK[a.methodType] - METHOD_TYPE_RANK[b.methodType] ||
    more(a.serviceLength, b.serviceLength) ||
    more(a.methodLength, b.methodLength) ||
    more(a.headers, b.headers)
  );
}

/** Milliseconds since the epoch; a missing or unreadable timestamp counts as the newest. */
function createdAt(origin: MatchOrigin): number {
  const t = origin.creationTimestamp === undefined ? NaN : Date.parse(origin.creationTimestamp);
  return Number.isNaN(t) ? Infinity : t;
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The tie-breaks after specificity: age, then `<namespace>/<name>`, then rule and match order. */
export function compareOrigin(a: MatchOrigin, b: MatchOrigin): number {
  const ta = createdAt(a);
  const tb = createdAt(b);
  return (
    (ta === tb ? 0 : ta < tb ? -1 : 1) ||
    compareText(`${a.namespace}/${a.name}`, `${b.namespace}/${b.name}`) ||
    a.ruleIndex - b.ruleIndex ||
    a.matchIndex - b.matchIndex
  );
}

/** A comparator for `Array.prototype.sort`: specificity first, then origin. */
export function byPrecedence<S>(
  compareSpecificity: (a: S, b: S) => number,
): (a: Ranked<S>, b: Ranked<S>) => number {
  return (a, b) => compareSpecificity(a.specificity, b.specificity) || compareOrigin(a.origin, b.origin);
}
