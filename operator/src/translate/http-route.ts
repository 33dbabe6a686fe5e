// Translates HTTPRoutes attached to Services (GAMMA) into the route tables their waypoints apply (DESIGN §3, §4).
//
// Beyond gateway-routes.ts (parents, status, merge) and route-rules.ts (backends, common filters), HTTP-specific:
//  1. A rule without matches matches PathPrefix `/`; a match without a path too (the CRD defaults).
//  2. Path Exact → `exact`, PathPrefix → `pathPrefix` without its trailing slash (Gateway API ignores it),
//     RegularExpression → `regex`. Header names are lowercased; of several header or query parameter matches with
//     one name only the first counts.
//  3. RequestRedirect (statusCode default 302) and URLRewrite; ReplaceFullPath → `full`, ReplacePrefixMatch →
//     `prefix`.
//  4. timeouts.request → timeoutMs; timeouts.backendRequest → retry.perTryTimeoutMs. A zero duration disables the
//     timeout (Gateway API). Without a retry stanza, backendRequest bounds a single try (attempts 0).
//  5. The experimental `retry` (when its CRDs are installed): codes and attempts (default 2, Istio's) are applied,
//     with Istio's connection-level retry conditions; backoff is not configurable and is reported.
import type { HTTPRoute } from '@ambit/codegen/crds';
import type { PathModifier, Redirect, RetryPolicy, RouteMatch, StringMatch } from '@ambit/config';
import {
  translateRoutes,
  type RouteKind,
  type RouteTranslation,
  type RuleAction,
  type TranslatedRule,
} from './gateway-routes.ts';
import { compareHttpSpecificity, type HttpSpecificity } from './route-precedence.ts';
import {
  backends,
  experimentalFields,
  filterEffects,
  headerMatches,
  noteExperimentalFields,
  stringMatch,
  type FilterEffects,
  type RouteContext,
  type RuleScope,
} from './route-rules.ts';

type Rule = NonNullable<HTTPRoute['spec']['rules']>[number];
type Match = NonNullable<Rule['matches']>[number];
type Filter = NonNullable<Rule['filters']>[number];
type PathSpec = NonNullable<NonNullable<Filter['urlRewrite']>['path']>;

/** Retries after the first try when the retry stanza gives no attempts (Istio's default). */
const DEFAULT_RETRY_ATTEMPTS = 2;
/** Connection-level failures retried whenever a retry stanza is present (Istio's Gateway API conversion). */
const RETRY_ON = ['connect-failure', 'refused-stream', 'unavailable', 'cancelled'];

const UNIT_MS: Readonly<Record<string, number>> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1 };

/** A Gateway API duration (`1h30m`, `10s`, `500ms`) in milliseconds, or undefined if it is not one. */
export function parseGatewayDuration(text: string): number | undefined {
  if (!/^(\d+(h|ms|m|s))+$/.test(text)) return undefined;
  let ms = 0;
  for (const [, n, unit] of text.matchAll(/(\d+)(h|ms|m|s)/g)) ms += Number(n) * (UNIT_MS[unit ?? ''] ?? 0);
  return ms;
}

/** A PathPrefix value without trailing slashes (`/` stays `/`). */
function normalizePrefix(value: string): string {
  return value.replace(/\/+$/, '') || '/';
}

function pathMatch(type: HttpSpecificity['pathType'], value: string): StringMatch {
  if (type === 'Exact') return { exact: value };
  if (type === 'RegularExpression') return { regex: value };
  return { pathPrefix: value };
}

function httpMatch(m: Match): { match: RouteMatch; specificity: HttpSpecificity } {
  const pathType = m.path?.type ?? 'PathPrefix';
  const rawPath = m.path?.value ?? '/';
  const pathValue = pathType === 'PathPrefix' ? normalizePrefix(rawPath) : rawPath;
  const headers = headerMatches(m.headers);
  const seen = new Set<string>();
  const queryParams = (m.queryParams ?? []).flatMap((q) => {
    if (seen.has(q.name)) return [];
    seen.add(q.name);
    return [{ name: q.name, value: stringMatch(q.type, q.value) }];
  });
  return {
    match: {
      path: pathMatch(pathType, pathValue),
      ...(m.method ? { method: m.method } : {}),
      headers,
      queryParams,
    },
    specificity: {
      pathType,
      pathLength: pathValue.length,
      method: m.method !== undefined,
      headers: headers.length,
      queryParams: queryParams.length,
    },
  };
}

function pathModifier(path: PathSpec): PathModifier {
  return path.type === 'ReplaceFullPath'
    ? { full: path.replaceFullPath ?? '' }
    : { prefix: path.replacePrefixMatch ?? '' };
}

function redirect(spec: NonNullable<Filter['requestRedirect']>): Redirect {
  return {
    ...(spec.scheme === undefined ? {} : { scheme: spec.scheme }),
    ...(spec.hostname === undefined ? {} : { host: spec.hostname }),
    ...(spec.port === undefined ? {} : { port: spec.port }),
    ...(spec.path === undefined ? {} : { path: pathModifier(spec.path) }),
    statusCode: spec.statusCode ?? 302,
  };
}

/** RequestRedirect and URLRewrite, which only HTTPRoute has. */
function httpFilter(f: Filter, out: FilterEffects): boolean {
  if (f.type === 'RequestRedirect' && f.requestRedirect) {
    out.redirect = redirect(f.requestRedirect);
    return true;
  }
  if (f.type === 'URLRewrite' && f.urlRewrite) {
    const { hostname, path } = f.urlRewrite;
    out.rewrite = {
      ...(hostname === undefined ? {} : { host: hostname }),
      ...(path === undefined ? {} : { path: pathModifier(path) }),
    };
    return true;
  }
  return false;
}

/** A timeout in milliseconds; undefined when unset or zero (disabled). */
function timeout(value: string | undefined, field: string, scope: RuleScope): number | undefined {
  if (value === undefined) return undefined;
  const ms = parseGatewayDuration(value);
  if (ms === undefined) scope.unsupported(field, `${JSON.stringify(value)} is not a Gateway API duration`);
  return ms || undefined;
}

function retryPolicy(
  rule: Rule,
  perTryTimeoutMs: number | undefined,
  scope: RuleScope,
): RetryPolicy | undefined {
  const spec = experimentalFields(rule).retry;
  if (spec === undefined && perTryTimeoutMs === undefined) return undefined;
  if (spec?.backoff !== undefined) {
    scope.note(`${scope.field}.retry.backoff`, "not configurable, the waypoint's own backoff applies");
  }
  return {
    attempts: spec ? (spec.attempts ?? DEFAULT_RETRY_ATTEMPTS) : 0,
    ...(perTryTimeoutMs === undefined ? {} : { perTryTimeoutMs }),
    retryOn: spec ? RETRY_ON : [],
    retriableStatusCodes: [...(spec?.codes ?? [])],
  };
}

function httpAction(rule: Rule, scope: RuleScope): RuleAction {
  const { mirrors, ...effects } = filterEffects(rule.filters, scope, httpFilter);
  const field = `${scope.field}.timeouts`;
  const timeoutMs = timeout(rule.timeouts?.request, `${field}.request`, scope);
  const perTry = timeout(rule.timeouts?.backendRequest, `${field}.backendRequest`, scope);
  const retry = retryPolicy(rule, perTry, scope);
  noteExperimentalFields(rule, scope);
  return {
    backends: backends(rule.backendRefs, scope),
    ...effects,
    ...(timeoutMs === undefined ? {} : { timeoutMs }),
    ...(retry === undefined ? {} : { retry }),
    mirrors,
  };
}

function httpRule(rule: Rule, scope: RuleScope): TranslatedRule<HttpSpecificity> {
  const matches = rule.matches && rule.matches.length > 0 ? rule.matches : [{}];
  return { matches: matches.map(httpMatch), action: httpAction(rule, scope) };
}

const HTTP_ROUTES: RouteKind<HTTPRoute, HttpSpecificity> = {
  kind: 'HTTPRoute',
  protocol: 'HTTP',
  compareSpecificity: compareHttpSpecificity,
  rules: (route, scopeFor) => (route.spec.rules ?? []).map((rule, i) => httpRule(rule, scopeFor(i))),
};

/** Route tables for the Services the HTTPRoutes attach to (one per Service, merged), and each route's status. */
export function translateHttpRoutes(routes: readonly HTTPRoute[], ctx: RouteContext): RouteTranslation {
  return translateRoutes(routes, ctx, HTTP_ROUTES);
}
