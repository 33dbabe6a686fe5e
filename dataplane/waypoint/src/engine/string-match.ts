// How one route condition compares a string (path, header value, query value): StringMatch semantics from
// VirtualService and Gateway API.
import type { StringMatch } from '@ambit/config';
import { EngineError } from './errors.ts';

/**
 * Gateway API `PathPrefix`, element-wise: `/foo` (and `/foo/`) match `/foo`, `/foo/` and `/foo/bar` but not
 * `/foobar`; `/` matches every path.
 */
export function pathPrefixMatches(prefix: string, path: string): boolean {
  const p = trimTrailingSlash(prefix);
  return path === p || path.startsWith(`${p}/`);
}

/** `/foo/` → `/foo`; `/` → `` (so that `${p}/` is `/`). */
export function trimTrailingSlash(s: string): string {
  return s.endsWith('/') ? s.slice(0, -1) : s;
}

// Compiling per request would cost more than the match itself; route tables are few and long-lived. The cap
// keeps a waypoint that sees many config versions from holding every regex it ever saw.
const REGEX_CACHE_LIMIT = 1024;
const regexCache = new Map<string, RegExp>();

/**
 * Anchors at both ends: Istio and Gateway API match the whole value. JavaScript regexes backtrack where RE2 does
 * not, so the control plane is expected to reject patterns outside RE2's syntax before they get here.
 */
function fullMatchRegex(source: string): RegExp {
  let re = regexCache.get(source);
  if (re === undefined) {
    try {
      re = new RegExp(`^(?:${source})$`);
    } catch (cause) {
      throw new EngineError('ERR_INVALID_ROUTE_REGEX', `invalid route regex ${JSON.stringify(source)}`, {
        cause,
      });
    }
    if (regexCache.size >= REGEX_CACHE_LIMIT) regexCache.clear();
    regexCache.set(source, re);
  }
  return re;
}

/** Whether `value` satisfies `m`. An absent value matches nothing. */
export function stringMatches(m: StringMatch, value: string | undefined): boolean {
  if (value === undefined) return false;
  if ('exact' in m) return value === m.exact;
  if ('prefix' in m) return value.startsWith(m.prefix);
  if ('pathPrefix' in m) return pathPrefixMatches(m.pathPrefix, value);
  return fullMatchRegex(m.regex).test(value);
}
