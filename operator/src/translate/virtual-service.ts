// Translates an Istio VirtualService into the route tables waypoints apply (DESIGN §3, §4), as pure data.
//
// In ambient mode a VirtualService acts at the waypoint of each Service its hosts name. In order:
//  1. Each `spec.hosts` entry is read as Istio reads hosts: a name without dots is relative to the
//     VirtualService's namespace. Each Service named gets one table; an entry that names none is reported.
//  2. `spec.gateways` without `mesh` keeps the VirtualService off waypoints altogether.
//  3. Each `spec.http` entry becomes a rule, in declaration order (the waypoint takes the first match).
//  4. Nothing unsupported is dropped silently (DESIGN §8): each such field is named in the status. A match entry
//     with a condition the waypoint cannot check is left out, so its traffic falls through to later rules as if
//     the entry were absent; a rule whose action cannot be carried out keeps its matches but has no backend (the
//     waypoint answers 500), so its traffic never goes where the user did not send it.
//  5. A value that is wrong in meaning (a bad regex, an unparseable duration, weights that sum to 0) makes the
//     object invalid: no table at all, so the join keeps the last good one in force.
import type { VirtualService } from '@ambit/codegen/crds';
import type {
  BackendRef,
  FaultPolicy,
  HeaderMatch,
  HeaderMutation,
  Mirror,
  QueryParamMatch,
  Redirect,
  RetryPolicy,
  Rewrite,
  RouteMatch,
  RouteRule,
  RouteTable,
  SourceRef,
  StringMatch,
} from '@ambit/config';
import type { FieldError, TranslationNote } from './authorization-policy.ts';
import { ACCEPTED, Reason, type ObjectStatus } from './status.ts';

/** A Service as Istio host names resolve to it. */
export interface ServiceRef {
  readonly namespace: string;
  readonly name: string;
  /** Its port numbers. */
  readonly ports: readonly number[];
}

/** The Service an Istio host names, read relative to the namespace of the object that wrote it. */
export type ServiceByHost = (host: string, namespace: string) => ServiceRef | undefined;

export interface VirtualServiceContext {
  /** The cluster DNS domain, e.g. cluster.local. */
  readonly clusterDomain: string;
  readonly serviceByHost: ServiceByHost;
}

export interface VirtualServiceTranslation {
  /** One per Service the hosts name; none when the object is invalid or nothing of it applies. */
  readonly tables: readonly RouteTable[];
  readonly status: ObjectStatus;
}

/**
 * The namespace and name a host names by its form, or undefined. Istio expands a name without dots to
 * `<name>.<namespace>.svc.<domain>` with the namespace of the object that wrote it; the other forms Kubernetes DNS
 * answers for a Service (`<name>.<ns>`, `<name>.<ns>.svc`) are read as the Service they reach.
 */
export function parseServiceHost(
  host: string,
  namespace: string,
  clusterDomain: string,
): { readonly namespace: string; readonly name: string } | undefined {
  const h = host.toLowerCase();
  const fqdnSuffix = `.svc.${clusterDomain}`;
  const base = h.endsWith(fqdnSuffix) ? h.slice(0, -fqdnSuffix.length) : h.replace(/\.svc$/, '');
  const [name, ns, ...rest] = base.split('.');
  if (!name || rest.length > 0) return undefined;
  return { namespace: ns ?? namespace, name };
}

/** A `ServiceByHost` over a list of Services (what the join builds from Service records). */
export function serviceByHostIn(services: readonly ServiceRef[], clusterDomain: string): ServiceByHost {
  const byKey = new Map(services.map((s) => [`${s.namespace}/${s.name}`, s]));
  return (host, namespace) => {
    const ref = parseServiceHost(host, namespace, clusterDomain);
    return ref && byKey.get(`${ref.namespace}/${ref.name}`);
  };
}

/** The full name Istio reads a host as, for messages. */
function fqdn(host: string, namespace: string, clusterDomain: string): string {
  return host.includes('.') ? host : `${host}.${namespace}.svc.${clusterDomain}`;
}

/** What a translation left out (notes) or refused (errors), by field path. Shared with destination-rule.ts. */
export class Findings {
  readonly notes: TranslationNote[] = [];
  readonly errors: FieldError[] = [];
  unsupported(field: string, message: string): void {
    this.notes.push({ field, message });
  }
  invalid(field: string, message: string): void {
    this.errors.push({ field, message });
  }
  /** Reports every set field of `object` not in `known` as not supported, with `why[key]` when given. */
  unknownFields(
    object: object,
    known: readonly string[],
    field: string,
    why: Readonly<Record<string, string>> = {},
  ): void {
    for (const key of setKeys(object)) {
      if (!known.includes(key)) this.unsupported(`${field}.${key}`, why[key] ?? 'not supported; ignored');
    }
  }
}

/** The keys of an object whose values are set (null and empty lists count as unset). */
function setKeys(object: object): string[] {
  return Object.entries(object)
    .filter(([, v]) => v !== undefined && v !== null && !(Array.isArray(v) && v.length === 0))
    .map(([k]) => k);
}

/**
 * The Accepted condition of a networking object:
 *  1. invalid: False/Invalid, naming the fields;
 *  2. nothing applies: False/TargetNotFound when that is because its target Service does not exist, else
 *     False/UnsupportedValue, naming what is not enforced;
 *  3. applies in full: True/Accepted; in part: True/UnsupportedValue, naming what is not enforced.
 * Shared with destination-rule.ts.
 */
export function networkingStatus(
  object: SourceRef,
  appliesTo: readonly string[],
  targetMissing: boolean,
  f: Findings,
): ObjectStatus {
  const listed = (items: readonly { field: string; message: string }[]) =>
    items.map((i) => `${i.field}: ${i.message}`).join('; ');
  const condition = (ok: boolean, reason: Reason, message: string): ObjectStatus => ({
    object,
    conditions: [{ type: ACCEPTED, status: ok ? 'True' : 'False', reason, message }],
  });
  if (f.errors.length > 0) return condition(false, Reason.Invalid, listed(f.errors));
  if (appliesTo.length === 0) {
    const reason = targetMissing ? Reason.TargetNotFound : Reason.UnsupportedValue;
    return condition(false, reason, `nothing of it is enforced: ${listed(f.notes)}`);
  }
  const applies = `applies to Service ${appliesTo.join(', ')}`;
  if (f.notes.length === 0) return condition(true, Reason.Accepted, applies);
  return condition(true, Reason.UnsupportedValue, `${applies}; not enforced: ${listed(f.notes)}`);
}

const DURATION_UNIT_MS: Readonly<Record<string, number>> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  μs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/** A Go/Istio duration ("1s", "100ms", "1m30s", "1.5s") in milliseconds, or undefined if it is not one. */
export function parseDurationMs(value: string): number | undefined {
  const parts = [...value.matchAll(/(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/gy)];
  if (value === '' || parts.map((p) => p[0]).join('') !== value) return undefined;
  const ms = parts.reduce((sum, [, n, unit]) => sum + Number(n) * (DURATION_UNIT_MS[unit ?? ''] ?? 0), 0);
  return Math.round(ms * 1000) / 1000; // microseconds are the finest unit worth keeping; avoids 1100.0000000000002
}

/** A duration field in ms; an unparseable one is an error. */
export function durationMs(value: string | undefined, field: string, f: Findings): number | undefined {
  if (value === undefined) return undefined;
  const ms = parseDurationMs(value);
  if (ms === undefined) f.invalid(field, `not a duration (got ${JSON.stringify(value)}; e.g. "1s", "100ms")`);
  return ms;
}

type Spec = NonNullable<VirtualService['spec']>;
type HttpRoute = NonNullable<Spec['http']>[number];
type MatchRequest = NonNullable<HttpRoute['match']>[number];
type IstioStringMatch = NonNullable<MatchRequest['uri']>;
type Destination = NonNullable<HttpRoute['route']>[number]['destination'];
type IstioHeaderOps = NonNullable<NonNullable<HttpRoute['headers']>['request']>;

/** What translating one `spec.http` entry needs besides the entry. */
interface Scope {
  readonly namespace: string;
  readonly ctx: VirtualServiceContext;
  readonly f: Findings;
}

/** A backend whose port may still be "the port the request came to" (Istio's listener port). */
type DraftBackend = Omit<BackendRef, 'port'> & { readonly port?: number };

interface DraftRule extends Omit<RouteRule, 'backends' | 'mirrors'> {
  readonly backends: readonly DraftBackend[];
  readonly mirrors: readonly { readonly backend: DraftBackend; readonly percent: number }[];
}

function percentIn(value: number, field: string, f: Findings): number {
  if (value < 0 || value > 100) f.invalid(field, `must be from 0 to 100 (got ${value})`);
  return value;
}

/** Checks a regex the way a RE2 engine would refuse it: JS syntax errors, lookaround and backreferences. */
function checkRegex(regex: string, field: string, f: Findings): void {
  if (/\(\?<?[=!]|\\[1-9]/.test(regex)) {
    f.invalid(field, `lookaround and backreferences are not RE2 syntax (got ${JSON.stringify(regex)})`);
    return;
  }
  try {
    new RegExp(regex);
  } catch (e) {
    f.invalid(field, (e as Error).message);
  }
}

/** An Istio StringMatch; undefined when it sets no kind (Istio reads that as "any value"). */
function stringMatch(m: IstioStringMatch | undefined, field: string, f: Findings): StringMatch | undefined {
  if (m?.exact !== undefined) return { exact: m.exact };
  if (m?.prefix !== undefined) return { prefix: m.prefix };
  if (m?.regex !== undefined) {
    checkRegex(m.regex, `${field}.regex`, f);
    return { regex: m.regex };
  }
  return undefined;
}

/** A header or query value match; `regex: "*"` means "present" in Istio (it is not a valid regex). */
function valueMatch(m: IstioStringMatch | undefined, field: string, f: Findings): StringMatch | undefined {
  return m?.regex === '*' ? undefined : stringMatch(m, field, f);
}

const JWT_CLAIM_HEADER = '@request.auth.claims.';

function headerMatches(
  headers: MatchRequest['headers'],
  invert: boolean,
  field: string,
  f: Findings,
): HeaderMatch[] | undefined {
  const out: HeaderMatch[] = [];
  let checkable = true;
  for (const [name, m] of Object.entries(headers ?? {})) {
    if (name.startsWith(JWT_CLAIM_HEADER)) {
      f.unsupported(
        `${field}[${name}]`,
        'JWT claim matches need RequestAuthentication; this match entry is left out',
      );
      checkable = false;
      continue;
    }
    const value = valueMatch(m, `${field}[${name}]`, f);
    out.push({ name: name.toLowerCase(), ...(value ? { value } : {}), invert });
  }
  // Istio orders header matchers by name; the order does not change the meaning, only keeps output stable.
  return checkable ? out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)) : undefined;
}

const MATCH_FIELDS = [
  'uri',
  'method',
  'headers',
  'withoutHeaders',
  'queryParams',
  'port',
  'gateways',
  'ignoreUriCase',
  'name',
];

/** One match entry, or undefined when it holds a condition the waypoint cannot check (the entry is left out). */
function translateMatch(m: MatchRequest, field: string, f: Findings): RouteMatch | undefined {
  let checkable = true;
  const leaveOut = (key: string, why: string) => {
    f.unsupported(`${field}.${key}`, `${why}; this match entry is left out`);
    checkable = false;
  };
  for (const key of setKeys(m)) {
    if (key === 'statPrefix') f.unsupported(`${field}.statPrefix`, 'not supported; ignored');
    else if (!MATCH_FIELDS.includes(key)) leaveOut(key, 'not supported at waypoints');
  }
  const gateways = m.gateways ?? [];
  if (gateways.length > 0 && !gateways.includes('mesh')) leaveOut('gateways', 'applies to gateways only');
  if (m.ignoreUriCase) leaveOut('ignoreUriCase', 'case-insensitive URI matches are not supported');
  const method = m.method && stringMatch(m.method, `${field}.method`, f);
  if (method && !('exact' in method)) leaveOut('method', 'only exact method matches are supported');
  const path = stringMatch(m.uri, `${field}.uri`, f);
  const headers = headerMatches(m.headers, false, `${field}.headers`, f);
  const without = headerMatches(m.withoutHeaders, true, `${field}.withoutHeaders`, f);
  const queryParams: QueryParamMatch[] = Object.entries(m.queryParams ?? {}).map(([name, q]) => {
    const value = valueMatch(q, `${field}.queryParams[${name}]`, f);
    return { name, ...(value ? { value } : {}) };
  });
  if (!checkable || !headers || !without) return undefined;
  return {
    ...(path ? { path } : {}),
    ...(method && 'exact' in method ? { method: method.exact } : {}),
    headers: [...headers, ...without],
    queryParams,
    ...(m.port !== undefined ? { port: m.port } : {}),
  };
}

function headerMutation(ops: IstioHeaderOps | undefined): HeaderMutation | undefined {
  if (!ops) return undefined;
  // Header names are case-insensitive; lowercase is how HTTP/2 carries them.
  const values = (o: Record<string, string | undefined> | undefined) =>
    Object.entries(o ?? {}).flatMap(([name, value]) =>
      value === undefined ? [] : [{ name: name.toLowerCase(), value }],
    );
  const m = {
    set: values(ops.set),
    add: values(ops.add),
    remove: (ops.remove ?? []).map((n) => n.toLowerCase()),
  };
  return m.set.length + m.add.length + m.remove.length > 0 ? m : undefined;
}

/**
 * A destination as a backend, or undefined when it names no Service. Port: the destination's, else the Service's
 * only port, else (left open) the port the request came to, as Istio does.
 */
function backend(d: Destination, weight: number, field: string, s: Scope): DraftBackend | undefined {
  const svc = s.ctx.serviceByHost(d.host, s.namespace);
  if (!svc) {
    const name = fqdn(d.host, s.namespace, s.ctx.clusterDomain);
    s.f.unsupported(`${field}.host`, `no Service is named ${name}; this destination is left out`);
    return undefined;
  }
  const port = d.port?.number ?? (svc.ports.length === 1 ? svc.ports[0] : undefined);
  if (port !== undefined && (port < 1 || port > 65535)) {
    s.f.invalid(`${field}.port.number`, `must be a port number from 1 to 65535 (got ${port})`);
  }
  return {
    service: `${svc.namespace}/${svc.name}`,
    ...(port !== undefined ? { port } : {}),
    ...(d.subset ? { subset: d.subset } : {}),
    weight,
  };
}

/** Route destinations: a single one takes all traffic whatever its weight; several split by relative weight. */
function backends(route: HttpRoute, field: string, s: Scope): DraftBackend[] {
  const dests = route.route ?? [];
  dests.forEach((d, j) => {
    if ((d.weight ?? 0) < 0)
      s.f.invalid(`${field}.route[${j}].weight`, `must not be negative (got ${d.weight})`);
  });
  if (dests.length > 1 && dests.every((d) => (d.weight ?? 0) === 0)) {
    s.f.invalid(`${field}.route`, 'the weights of several destinations must not all be 0');
  }
  return dests.flatMap((d, j) => {
    const weight = dests.length === 1 ? 100 : (d.weight ?? 0);
    const b = backend(d.destination, weight, `${field}.route[${j}].destination`, s);
    if (!b) return [];
    const requestHeaders = headerMutation(d.headers?.request);
    const responseHeaders = headerMutation(d.headers?.response);
    return [
      {
        ...b,
        ...(requestHeaders ? { requestHeaders } : {}),
        ...(responseHeaders ? { responseHeaders } : {}),
      },
    ];
  });
}

/** `mirror` (with mirrorPercentage, or the deprecated integer forms) and `mirrors[]`; 100 % when unset. */
function mirrors(route: HttpRoute, field: string, s: Scope): DraftRule['mirrors'] {
  const out: { backend: DraftBackend; percent: number }[] = [];
  const add = (d: Destination, percent: number, at: string) => {
    const b = backend(d, 100, at, s);
    if (b) out.push({ backend: b, percent: percentIn(percent, `${at}.percentage`, s.f) });
  };
  if (route.mirror) {
    const percent = route.mirrorPercentage?.value ?? route.mirrorPercent ?? route.mirror_percent ?? 100;
    add(route.mirror, percent, `${field}.mirror`);
  }
  (route.mirrors ?? []).forEach((m, k) =>
    add(m.destination, m.percentage?.value ?? 100, `${field}.mirrors[${k}].destination`),
  );
  return out;
}

/** Istio's default when `retryOn` is not given (pilot retry.DefaultPolicy). */
const DEFAULT_RETRY_ON: Pick<RetryPolicy, 'retryOn' | 'retriableStatusCodes'> = {
  retryOn: ['connect-failure', 'refused-stream', 'unavailable', 'cancelled', 'retriable-status-codes'],
  retriableStatusCodes: [503],
};

/** Istio's parseRetryOn: numeric entries are status codes, which need Envoy's retriable-status-codes condition. */
function parseRetryOn(text: string): Pick<RetryPolicy, 'retryOn' | 'retriableStatusCodes'> {
  const parts = text
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p !== '');
  const isCode = (p: string) => /^\d{3}$/.test(p) && Number(p) >= 100 && Number(p) <= 599;
  const codes = parts.filter(isCode).map(Number);
  const retryOn = parts.filter((p) => !isCode(p));
  const needsCodes = codes.length > 0 && !retryOn.includes('retriable-status-codes');
  return {
    retryOn: needsCodes ? [...retryOn, 'retriable-status-codes'] : retryOn,
    retriableStatusCodes: codes,
  };
}

function retry(r: HttpRoute['retries'], field: string, f: Findings): RetryPolicy | undefined {
  if (!r) return undefined; // the waypoint's default retry policy applies, as Istio's mesh default does
  f.unknownFields(r, ['attempts', 'perTryTimeout', 'retryOn', 'retryIgnorePreviousHosts'], field);
  if (r.retryIgnorePreviousHosts === false) {
    f.unsupported(
      `${field}.retryIgnorePreviousHosts`,
      'false is not supported; retries prefer another endpoint',
    );
  }
  const attempts = r.attempts ?? 0;
  if (attempts <= 0) return { attempts: 0, retryOn: [], retriableStatusCodes: [] }; // Istio: 0 disables retries
  const perTryTimeoutMs = durationMs(r.perTryTimeout, `${field}.perTryTimeout`, f);
  return {
    attempts,
    ...(perTryTimeoutMs !== undefined ? { perTryTimeoutMs } : {}),
    ...(r.retryOn ? parseRetryOn(r.retryOn) : DEFAULT_RETRY_ON),
  };
}

/** Fault injection. An unset percentage injects nothing, as Istio documents ("no request will be delayed"). */
function fault(fl: HttpRoute['fault'], field: string, f: Findings): FaultPolicy | undefined {
  if (!fl) return undefined;
  let delay: FaultPolicy['delay'];
  let abort: FaultPolicy['abort'];
  if (fl.delay) {
    const at = `${field}.delay`;
    f.unknownFields(fl.delay, ['fixedDelay', 'percentage', 'percent'], at);
    const ms = durationMs(fl.delay.fixedDelay, `${at}.fixedDelay`, f);
    const percent = percentIn(fl.delay.percentage?.value ?? fl.delay.percent ?? 0, `${at}.percentage`, f);
    if (ms !== undefined) delay = { ms, percent };
  }
  if (fl.abort) {
    const at = `${field}.abort`;
    f.unknownFields(fl.abort, ['httpStatus', 'percentage'], at);
    const status = fl.abort.httpStatus;
    if (status !== undefined && (status < 200 || status > 599)) {
      f.invalid(`${at}.httpStatus`, `must be an HTTP status from 200 to 599 (got ${status})`);
    }
    const percent = percentIn(fl.abort.percentage?.value ?? 0, `${at}.percentage`, f);
    if (status !== undefined) abort = { status, percent };
  }
  if (!delay && !abort) return undefined;
  return { ...(delay ? { delay } : {}), ...(abort ? { abort } : {}) };
}

const REDIRECT_CODES = [301, 302, 303, 307, 308];

/** A redirect, or undefined when it cannot be carried out. */
function redirect(r: NonNullable<HttpRoute['redirect']>, field: string, f: Findings): Redirect | undefined {
  f.unknownFields(r, ['uri', 'authority', 'port', 'scheme', 'redirectCode', 'derivePort'], field);
  if (r.derivePort === 'FROM_REQUEST_PORT') {
    f.unsupported(
      `${field}.derivePort`,
      'FROM_REQUEST_PORT is not supported; the protocol default port is used',
    );
  }
  if (r.scheme !== undefined && r.scheme !== 'http' && r.scheme !== 'https') {
    f.invalid(`${field}.scheme`, `must be http or https (got ${JSON.stringify(r.scheme)})`);
  }
  const code = r.redirectCode || 301;
  if (code < 300 || code > 399) {
    f.invalid(`${field}.redirectCode`, `must be a 3xx status (got ${code})`);
  } else if (!REDIRECT_CODES.includes(code)) {
    const why = `${code} is not supported (use 301, 302, 303, 307 or 308); matching requests answer 500`;
    f.unsupported(`${field}.redirectCode`, why);
    return undefined;
  }
  // Istio leaves the port out of the Location when it is the scheme's default (the waypoint speaks plain http).
  const scheme = r.scheme ?? 'http';
  const defaultPort = (r.port === 80 && scheme === 'http') || (r.port === 443 && scheme === 'https');
  return {
    ...(r.scheme ? { scheme: r.scheme } : {}),
    ...(r.authority ? { host: r.authority } : {}),
    ...(r.port !== undefined && !defaultPort ? { port: r.port } : {}),
    ...(r.uri ? { path: { full: r.uri } } : {}),
    statusCode: code,
  };
}

function rewrite(rw: NonNullable<HttpRoute['rewrite']>, prefixMatched: boolean): Rewrite {
  return {
    ...(rw.authority ? { host: rw.authority } : {}),
    // Istio replaces the matched prefix after a prefix match, and the whole path otherwise.
    ...(rw.uri ? { path: prefixMatched ? { prefix: rw.uri } : { full: rw.uri } } : {}),
  };
}

/**
 * Consecutive match entries that share a rewrite kind (prefix or whole path). A rule mixing both becomes one rule
 * per run; keeping runs in order keeps first-match semantics.
 */
function rewriteRuns(matches: readonly RouteMatch[]): { matches: RouteMatch[]; prefix: boolean }[] {
  const runs: { matches: RouteMatch[]; prefix: boolean }[] = [];
  for (const m of matches) {
    const prefix = m.path !== undefined && 'prefix' in m.path;
    const last = runs.at(-1);
    if (last?.prefix === prefix) last.matches.push(m);
    else runs.push({ matches: [m], prefix });
  }
  return runs.length > 0 ? runs : [{ matches: [], prefix: false }];
}

const ROUTE_FIELDS = [
  'name',
  'match',
  'route',
  'redirect',
  'rewrite',
  'headers',
  'timeout',
  'retries',
  'fault',
  'mirror',
  'mirrorPercentage',
  'mirrorPercent',
  'mirror_percent',
  'mirrors',
  'directResponse',
  'delegate',
];

/** One `spec.http` entry as rules (usually one; none when every match entry was left out). */
function httpRules(route: HttpRoute, field: string, name: string, s: Scope): DraftRule[] {
  const { f } = s;
  f.unknownFields(route, ROUTE_FIELDS, field);
  const given = route.match ?? [];
  const matches = given.flatMap((m, j) => translateMatch(m, `${field}.match[${j}]`, f) ?? []);
  const actions = ['route', 'redirect', 'directResponse', 'delegate'].filter((k) =>
    setKeys(route).includes(k),
  );
  if (actions.length !== 1) {
    f.invalid(
      field,
      `needs exactly one of route, redirect, directResponse, delegate (got ${actions.length})`,
    );
  }
  for (const action of ['directResponse', 'delegate']) {
    if (actions.includes(action))
      f.unsupported(`${field}.${action}`, 'not supported; matching requests answer 500');
  }
  const timeoutMs = durationMs(route.timeout, `${field}.timeout`, f);
  const retryPolicy = retry(route.retries, `${field}.retries`, f);
  const faultPolicy = fault(route.fault, `${field}.fault`, f);
  const requestHeaders = headerMutation(route.headers?.request);
  const responseHeaders = headerMutation(route.headers?.response);
  const redirectTo = route.redirect && redirect(route.redirect, `${field}.redirect`, f);
  const base = {
    backends: route.route ? backends(route, field, s) : [],
    ...(redirectTo ? { redirect: redirectTo } : {}),
    ...(requestHeaders ? { requestHeaders } : {}),
    ...(responseHeaders ? { responseHeaders } : {}),
    ...(timeoutMs ? { timeoutMs } : {}), // 0s: no timeout, as in Istio
    ...(retryPolicy ? { retry: retryPolicy } : {}),
    ...(faultPolicy ? { fault: faultPolicy } : {}),
    mirrors: mirrors(route, field, s),
  };
  if (given.length > 0 && matches.length === 0) return []; // every entry was left out: the rule never matches
  const rw = route.rewrite;
  if (!rw) return [{ name, matches, ...base }];
  f.unknownFields(rw, ['uri', 'authority'], `${field}.rewrite`, {
    uriRegexRewrite: 'regex rewrites are not supported; the path is left unchanged',
  });
  return rewriteRuns(matches).map((run) => ({
    name,
    matches: run.matches,
    ...base,
    rewrite: rewrite(rw, run.prefix),
  }));
}

/**
 * A rule with every port fixed. A backend left open takes the port the request came to, as Istio does; the model
 * names ports, so such a rule is split per port of the table's Service, each part matching that port.
 */
function fixPorts(rule: DraftRule, servicePorts: readonly number[]): RouteRule[] {
  const at = (matches: readonly RouteMatch[], port: number): RouteRule => {
    const fix = ({ service, ...rest }: DraftBackend): BackendRef => ({
      service,
      port: rest.port ?? port,
      ...rest,
    });
    return {
      ...rule,
      matches,
      backends: rule.backends.map(fix),
      mirrors: rule.mirrors.map((m): Mirror => ({ backend: fix(m.backend), percent: m.percent })),
    };
  };
  const open = [...rule.backends, ...rule.mirrors.map((m) => m.backend)].some((b) => b.port === undefined);
  if (!open) return [at(rule.matches, 0)]; // every backend names its port; 0 is never used
  return servicePorts.flatMap((port) => {
    const matches =
      rule.matches.length === 0
        ? [{ headers: [], queryParams: [], port }]
        : rule.matches.filter((m) => m.port === undefined || m.port === port).map((m) => ({ ...m, port }));
    return matches.length > 0 ? [at(matches, port)] : [];
  });
}

/** The Services the hosts name, each once, and how many hosts name no Service. */
function targets(spec: Spec, s: Scope): { services: ServiceRef[]; missing: number } {
  const hosts = spec.hosts ?? [];
  if (hosts.length === 0)
    s.f.unsupported('spec.hosts', 'no hosts: delegate VirtualServices are not supported');
  const services = new Map<string, ServiceRef>();
  let missing = 0;
  hosts.forEach((host, i) => {
    const field = `spec.hosts[${i}]`;
    if (host.includes('*')) {
      s.f.unsupported(field, `wildcard hosts are not supported (got ${JSON.stringify(host)})`);
      return;
    }
    const svc = s.ctx.serviceByHost(host, s.namespace);
    if (svc) {
      services.set(`${svc.namespace}/${svc.name}`, svc);
      return;
    }
    missing++;
    s.f.unsupported(field, `no Service is named ${fqdn(host, s.namespace, s.ctx.clusterDomain)}`);
  });
  return { services: [...services.values()], missing };
}

const SPEC_WHY: Readonly<Record<string, string>> = {
  tcp: 'TCP routes are not supported; TCP traffic goes to the Service unchanged',
  tls: 'TLS routes are not supported; TLS traffic goes to the Service unchanged',
  exportTo: 'not enforced; the routes apply to callers in every namespace',
};

/** The route tables of a VirtualService, one per Service its hosts name, and its Accepted condition. */
export function translateVirtualService(
  vs: VirtualService,
  ctx: VirtualServiceContext,
): VirtualServiceTranslation {
  const namespace = vs.metadata.namespace ?? 'default';
  const name = vs.metadata.name ?? '';
  const object: SourceRef = { group: 'networking.istio.io', kind: 'VirtualService', namespace, name };
  const spec: Spec = vs.spec ?? {};
  const f = new Findings();
  const s: Scope = { namespace, ctx, f };
  const gateways = spec.gateways ?? [];
  if (gateways.length > 0 && !gateways.includes('mesh')) {
    f.unsupported(
      'spec.gateways',
      'applies to gateways only, not to the mesh; Ambit ingress uses Gateway API',
    );
    return { tables: [], status: networkingStatus(object, [], false, f) };
  }
  if (gateways.some((g) => g !== 'mesh')) {
    f.unsupported('spec.gateways', 'only mesh is served; Ambit ingress uses Gateway API');
  }
  if (!spec.http?.length && !spec.tcp?.length && !spec.tls?.length) {
    f.invalid('spec', 'needs http, tcp or tls routes');
  }
  f.unknownFields(spec, ['hosts', 'gateways', 'http'], 'spec', SPEC_WHY);
  const { services, missing } = targets(spec, s);
  const drafts = (spec.http ?? []).flatMap((route, i) =>
    httpRules(route, `spec.http[${i}]`, `VirtualService/${namespace}/${name}#${i}`, s),
  );
  const tables: RouteTable[] =
    f.errors.length > 0 || drafts.length === 0
      ? []
      : services.map((svc) => {
          const id = `${svc.namespace}/${svc.name}`;
          const rules = drafts.flatMap((d) => fixPorts(d, svc.ports));
          return { id, service: id, protocol: 'HTTP', rules, sources: [object] };
        });
  return {
    tables,
    status: networkingStatus(
      object,
      tables.map((t) => t.service),
      services.length === 0 && missing > 0,
      f,
    ),
  };
}
