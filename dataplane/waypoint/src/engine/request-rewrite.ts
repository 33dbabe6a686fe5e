// What a rule does to a request before it leaves, or instead of forwarding it: header changes, host and path
// rewrites, redirects. Pure: a new request (or a redirect answer) out, the input untouched.
import {
  hostOf,
  type HeaderMutation,
  type PathModifier,
  type Redirect,
  type RequestFacts,
  type Rewrite,
  type RouteMatch,
} from '@ambit/config';
import { trimTrailingSlash } from './string-match.ts';

/** Lowercase names; a repeated header keeps all its values, in order. */
export type Headers = RequestFacts['headers'];

/**
 * Applies remove, then set, then add (Envoy's order: removing first means a header both removed and added ends
 * up with the added value). Names compare case-insensitively; the result uses lowercase names.
 */
export function applyHeaderMutation(headers: Headers, m: HeaderMutation | undefined): Headers {
  if (!m) return headers;
  const out: Record<string, string | readonly string[]> = { ...headers };
  for (const name of m.remove) delete out[name.toLowerCase()];
  for (const { name, value } of m.set) out[name.toLowerCase()] = value;
  for (const { name, value } of m.add) {
    const key = name.toLowerCase();
    const prior = out[key];
    out[key] = prior === undefined ? value : [...(typeof prior === 'string' ? [prior] : prior), value];
  }
  return out;
}

function splitTarget(target: string): { path: string; rest: string } {
  const end = target.search(/[?#]/);
  return end < 0 ? { path: target, rest: '' } : { path: target.slice(0, end), rest: target.slice(end) };
}

/**
 * The new path for `target` (its query string kept). `prefix` replaces what the rule's path condition matched:
 *  1. `pathPrefix` (Gateway API ReplacePrefixMatch): element-wise, trailing slashes on either side ignored, so
 *     `/foo/bar` under `/foo` → `/baz/bar`, and a `/` or empty replacement never yields `//bar` or an empty path;
 *  2. plain `prefix` (Istio `rewrite.uri` on a prefix match): the characters matched are replaced as they are;
 *  3. `exact` or `regex`: the whole path was matched, so the whole path is replaced;
 *  4. no path condition: as Gateway API's implied `pathPrefix: /`, so the replacement is put in front.
 */
export function rewritePath(target: string, modifier: PathModifier, match: RouteMatch | undefined): string {
  const { path, rest } = splitTarget(target);
  if ('full' in modifier) return modifier.full + rest;
  const condition = match?.path ?? { pathPrefix: '/' };
  if ('prefix' in condition) return modifier.prefix + path.slice(condition.prefix.length) + rest;
  if ('pathPrefix' in condition) {
    const remainder = path.slice(trimTrailingSlash(condition.pathPrefix).length);
    const joined = trimTrailingSlash(modifier.prefix) + remainder;
    return (joined === '' ? '/' : joined) + rest;
  }
  return modifier.prefix + rest;
}

/**
 * The request as the backend sees it: host and path rewritten. `host` is authoritative; a copy in
 * `headers.host` (HTTP/1.1 requests) is kept in step so the edge cannot send two different hosts.
 */
export function applyRewrite(
  req: RequestFacts,
  rewrite: Rewrite | undefined,
  match: RouteMatch | undefined,
): RequestFacts {
  if (!rewrite) return req;
  const host = rewrite.host ?? req.host;
  const headers =
    rewrite.host !== undefined && 'host' in req.headers ? { ...req.headers, host } : req.headers;
  const path = rewrite.path ? rewritePath(req.path, rewrite.path, match) : req.path;
  return { ...req, host, path, headers };
}

export interface RedirectResponse {
  readonly status: number;
  readonly location: string;
}

const WELL_KNOWN_PORTS: Readonly<Record<string, number>> = { http: 80, https: 443 };

/**
 * The redirect answer (Gateway API RequestRedirect, Istio HTTPRedirect). Each part of the Location defaults to
 * the request's:
 *  1. scheme: the redirect's, else the request's (`requestScheme`, plain `http` inside the mesh);
 *  2. host: the redirect's, else the request's host without its port;
 *  3. port: the redirect's; else the well-known port of a scheme the redirect sets; else the port the request
 *     came to. It is left out when it is the scheme's well-known port (Gateway API says to);
 *  4. path: rewritten as `rewritePath` does, query string kept.
 */
export function buildRedirect(
  redirect: Redirect,
  req: RequestFacts,
  match: RouteMatch | undefined,
  requestScheme = 'http',
): RedirectResponse {
  const scheme = (redirect.scheme ?? requestScheme).toLowerCase();
  const host = redirect.host ?? hostOf(req.host);
  const port =
    redirect.port ?? (redirect.scheme !== undefined ? (WELL_KNOWN_PORTS[scheme] ?? req.port) : req.port);
  const authority = WELL_KNOWN_PORTS[scheme] === port ? host : `${host}:${port}`;
  const path = redirect.path ? rewritePath(req.path, redirect.path, match) : req.path;
  return { status: redirect.statusCode, location: `${scheme}://${authority}${path}` };
}
