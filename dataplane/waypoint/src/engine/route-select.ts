// Which rule of a route table a request takes: the first rule with a matching condition set, in the order the
// control plane sorted them (DESIGN §4). No table or no match: the Service's default route (waypoint), or 404
// (ingress gateway). Ingress tables' matches also name the hosts they serve; waypoint tables never carry `hosts`,
// so for them the host check is never made.
import {
  hostOf,
  pathOf,
  type RequestFacts,
  type RouteMatch,
  type RouteRule,
  type RouteTable,
} from '@ambit/config';
import { stringMatches } from './string-match.ts';

/** The rule taken and the condition set that matched (rewrites and redirects need its path condition). */
export interface RouteSelection {
  readonly rule: RouteRule;
  /** Undefined when the rule has no conditions (it matches every request). */
  readonly match?: RouteMatch;
}

/**
 * Envoy's view of a repeated header: the values joined with `,`. Absent stays absent, so a value or presence
 * condition fails on it and its inverted form holds.
 */
export function headerValue(req: RequestFacts, name: string): string | undefined {
  const v = req.headers[name.toLowerCase()];
  return typeof v === 'string' || v === undefined ? v : v.join(',');
}

/** The query string of a request-target, parsed (`+` and percent escapes decoded, as Envoy matches them). */
function queryOf(target: string): URLSearchParams {
  const q = target.indexOf('?');
  if (q < 0) return new URLSearchParams();
  const hash = target.indexOf('#', q);
  return new URLSearchParams(target.slice(q + 1, hash < 0 ? undefined : hash));
}

/** The host a request names, as ingress `hosts` are matched: the Host header or `:authority` without its port, lowercase. */
export function requestHost(authority: string): string {
  return hostOf(authority).toLowerCase();
}

/**
 * Gateway API hostname matching against one lowercase `hosts` entry: an exact name, or `*.suffix`, which takes any
 * name with at least one more label in front (`*.example.com` takes `a.example.com` and `a.b.example.com`, not
 * `example.com`).
 */
export function hostMatches(pattern: string, host: string): boolean {
  if (!pattern.startsWith('*.')) return host === pattern;
  const suffix = pattern.slice(1);
  return host.length > suffix.length && host.endsWith(suffix);
}

/**
 * Every given condition holds. Paths are compared without the query string (Envoy's route match); a repeated
 * query parameter is judged by its first value (Envoy, Gateway API).
 */
export function routeMatchMatches(m: RouteMatch, req: RequestFacts, query: () => URLSearchParams): boolean {
  if (m.port !== undefined && m.port !== req.port) return false;
  if (m.hosts !== undefined) {
    const host = requestHost(req.host);
    if (!m.hosts.some((p) => hostMatches(p, host))) return false;
  }
  if (m.method !== undefined && m.method !== req.method) return false;
  if (m.path !== undefined && !stringMatches(m.path, pathOf(req.path))) return false;
  for (const h of m.headers) {
    const value = headerValue(req, h.name);
    const holds = h.value === undefined ? value !== undefined : stringMatches(h.value, value);
    if (holds === h.invert) return false;
  }
  for (const p of m.queryParams) {
    const value = query().get(p.name) ?? undefined;
    if (!(p.value === undefined ? value !== undefined : stringMatches(p.value, value))) return false;
  }
  return true;
}

/** The first rule that matches, with the condition set that did. */
export function selectRouteMatch(
  table: RouteTable | undefined,
  req: RequestFacts,
): RouteSelection | undefined {
  if (table === undefined) return undefined;
  // Parsed at most once per request, and only when some rule has a query condition.
  let parsed: URLSearchParams | undefined;
  const query = (): URLSearchParams => (parsed ??= queryOf(req.path));
  for (const rule of table.rules) {
    if (rule.matches.length === 0) return { rule };
    const match = rule.matches.find((m) => routeMatchMatches(m, req, query));
    if (match) return { rule, match };
  }
  return undefined;
}

/** The rule a request takes, or undefined for the Service's default route. */
export function selectRoute(table: RouteTable | undefined, req: RequestFacts): RouteRule | undefined {
  return selectRouteMatch(table, req)?.rule;
}
