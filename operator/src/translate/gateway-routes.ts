// The driver of the GAMMA route translators (http-route.ts, grpc-route.ts): Service parents, route status, and the
// merge of every route on a Service into one route table. The rule parts both kinds share are in route-rules.ts.
//
// What an HTTPRoute or GRPCRoute with a Service parentRef becomes, in order:
//  1. A parentRef to a core Service is a mesh (GAMMA) parent: accepted when it is in the route's namespace (a
//     producer route), names no sectionName, and the Service exists with the parentRef's port (if one is given).
//     A parentRef to an ingress Gateway of ours is judged by ingress-attachment.ts (status and attached listeners
//     only, so far); a Gateway of another controller gets no status from us.
//  2. Each (rule, match) pair becomes one RouteRule with exactly that match, named `<Kind>/<ns>/<name>#<rule>.<match>`;
//     a parentRef port restricts it to that Service port (one copy per port when several parentRefs name ports).
//  3. A rule that needs something Ambit cannot apply (ExtensionRef or CORS filters, …) answers 500 instead of
//     running without it: Gateway API forbids skipping such a filter. It makes the route PartiallyInvalid, or not
//     Accepted when no rule is left. Fields whose absence only loses a refinement (retry backoff,
//     sessionPersistence, hostnames) are named in the Accepted message instead.
//  4. A backendRef that does not resolve keeps its weight and answers 500 for its share (route-rules.ts).
//  5. A rule with no backend and no redirect answers 500 (the model's FaultPolicy abort).
//  6. A table ends with a 404 rule unless some rule already matches every request: GAMMA rejects requests to a
//     Service with routes that match none of them, where the model's default would pass them through unchanged.
//  7. Routes of one kind on one Service merge into one table (`<ns>/<service>`), ordered by route-precedence.ts.
//     HTTPRoutes and GRPCRoutes are never merged (Gateway API); each translator returns its own tables.
import type { FaultPolicy, RouteMatch, RouteRule, RouteTable, SourceRef } from '@ambit/config';
import { attachToGateway, isGatewayParent, type Attachment } from './ingress-attachment.ts';
import { byPrecedence, type Ranked } from './route-precedence.ts';
import {
  GATEWAY_GROUP,
  isCoreGroup,
  type RouteContext,
  type RouteRef,
  type RuleScope,
  type RefProblem,
} from './route-rules.ts';
import { ACCEPTED, Reason, type ConditionData } from './status.ts';

/** Gateway API route condition types besides Accepted. */
export const RESOLVED_REFS = 'ResolvedRefs';
export const PARTIALLY_INVALID = 'PartiallyInvalid';

/** A parentRef as the route spells it (echoed into status unchanged). */
export interface ParentRef {
  readonly group?: string;
  readonly kind?: string;
  readonly name: string;
  readonly namespace?: string;
  readonly port?: number;
  readonly sectionName?: string;
}

export interface RouteParentStatus {
  readonly parentRef: ParentRef;
  /** Accepted and ResolvedRefs, plus PartiallyInvalid when some rules answer 500. */
  readonly conditions: readonly ConditionData[];
  /** Whose parent this is: a Service (waypoints, the default) or an ingress Gateway. */
  readonly controller?: 'waypoint' | 'gateway';
  /** For an accepted Gateway parent: `<ns>/<gateway>` and the listeners the route attached to. */
  readonly attached?: { readonly gateway: string; readonly listeners: readonly string[] };
}

/** The status of one route, for its Service parents and the ingress Gateway parents that are ours. */
export interface RouteStatus {
  readonly route: SourceRef;
  readonly parents: readonly RouteParentStatus[];
}

export interface RouteTranslation {
  /** One per Service with an accepted route, sorted by id, then one per ingress Gateway listener port. */
  readonly tables: RouteTable[];
  /** One per route with at least one Service parentRef or Gateway parentRef of ours, in input order. */
  readonly statuses: RouteStatus[];
}

interface RouteObject {
  readonly metadata: {
    readonly name?: string;
    readonly namespace?: string;
    readonly creationTimestamp?: string;
  };
  readonly spec: { readonly parentRefs?: readonly ParentRef[]; readonly hostnames?: readonly string[] };
}

/** What a request matching a rule gets. */
export type RuleAction = Omit<RouteRule, 'name' | 'matches'>;

/** One rule of a route, translated: its matches with their specificity, and its action. */
export interface TranslatedRule<S> {
  readonly matches: readonly { readonly match: RouteMatch; readonly specificity: S }[];
  readonly action: RuleAction;
}

/** What differs between HTTPRoute and GRPCRoute. */
export interface RouteKind<R, S> {
  readonly kind: RouteRef['kind'];
  readonly protocol: RouteTable['protocol'];
  readonly compareSpecificity: (a: S, b: S) => number;
  /** Every rule of the route, in order; `scopeFor(i)` is the scope of rule i. */
  rules(route: R, scopeFor: (ruleIndex: number) => RuleScope): readonly TranslatedRule<S>[];
}

type ParentOutcome =
  | { readonly parentRef: ParentRef; readonly accepted: true; readonly service: string }
  | {
      readonly parentRef: ParentRef;
      readonly accepted: false;
      readonly reason: Reason;
      readonly message: string;
    };

function isServiceParent(p: ParentRef): boolean {
  // An omitted group means gateway.networking.k8s.io, which has no Service kind.
  return (p.kind ?? 'Gateway') === 'Service' && isCoreGroup(p.group ?? GATEWAY_GROUP);
}

function resolveParent(p: ParentRef, route: RouteRef, ctx: RouteContext): ParentOutcome {
  const namespace = p.namespace ?? route.namespace;
  const id = `${namespace}/${p.name}`;
  const reject = (reason: Reason, message: string): ParentOutcome => ({
    parentRef: p,
    accepted: false,
    reason,
    message,
  });
  if (namespace !== route.namespace) {
    // GAMMA consumer routes apply only to clients in the route's namespace; a RouteTable cannot say that yet.
    return reject(
      Reason.UnsupportedValue,
      `consumer routes (to Service ${id} from namespace ${route.namespace}) are not supported; put the route in namespace ${namespace}`,
    );
  }
  if (p.sectionName !== undefined) {
    return reject(Reason.UnsupportedValue, 'sectionName is not supported on a Service parent; use port');
  }
  const svc = ctx.service(namespace, p.name);
  if (!svc) return reject(Reason.NoMatchingParent, `Service ${id} not found`);
  if (p.port !== undefined && !svc.ports.includes(p.port)) {
    return reject(Reason.NoMatchingParent, `Service ${id} has no port ${p.port}`);
  }
  return { parentRef: p, accepted: true, service: id };
}

/** The distinct ports of several port restrictions, ascending; [undefined] (every port) if any has none. */
function portRestrictions(ports: readonly (number | undefined)[]): readonly (number | undefined)[] {
  const numbers = ports.filter((p): p is number => p !== undefined);
  return numbers.length < ports.length ? [undefined] : [...new Set(numbers)].sort((a, b) => a - b);
}

/** Service id → the ports the route is restricted to there. */
function attachments(parents: readonly ParentOutcome[]): Map<string, readonly (number | undefined)[]> {
  const ports = new Map<string, (number | undefined)[]>();
  for (const p of parents) {
    if (p.accepted) ports.set(p.service, [...(ports.get(p.service) ?? []), p.parentRef.port]);
  }
  return new Map([...ports].map(([service, list]) => [service, portRestrictions(list)]));
}

/** What translating one route found besides its rules. */
class RouteIssues {
  /** Rule index → why it answers 500. */
  readonly invalidRules = new Map<number, string[]>();
  readonly refs: RefProblem[] = [];
  readonly notes: string[] = [];

  scope(route: RouteRef, ctx: RouteContext, ruleIndex: number): RuleScope {
    return {
      route,
      ctx,
      field: `spec.rules[${ruleIndex}]`,
      unsupported: (field, message) =>
        this.invalidRules.set(ruleIndex, [
          ...(this.invalidRules.get(ruleIndex) ?? []),
          `${field}: ${message}`,
        ]),
      unresolved: (problem) => this.refs.push(problem),
      note: (field, message) => this.notes.push(`${field} (${message})`),
    };
  }

  invalidMessages(): string {
    return [...this.invalidRules.values()].flat().join('; ');
  }
}

/** Accepted (or why not), ResolvedRefs and PartiallyInvalid of an ingress Gateway parent. */
function gatewayParentConditions(
  attachment: Exclude<Attachment, { kind: 'not-ours' }>,
  issues: RouteIssues,
  ruleCount: number,
): ConditionData[] {
  const [firstRef] = issues.refs;
  const resolvedRefs =
    firstRef === undefined
      ? condition(RESOLVED_REFS, 'True', Reason.ResolvedRefs, 'all references resolved')
      : condition(RESOLVED_REFS, 'False', firstRef.reason, issues.refs.map((r) => r.message).join('; '));
  if (attachment.kind === 'refused')
    return [condition(ACCEPTED, 'False', attachment.reason, attachment.message), resolvedRefs];
  const invalid = issues.invalidRules.size;
  if (invalid > 0 && invalid === ruleCount) {
    const message = `no rule can be applied, so requests they match are answered 500: ${issues.invalidMessages()}`;
    return [condition(ACCEPTED, 'False', Reason.UnsupportedValue, message), resolvedRefs];
  }
  const accepted = condition(
    ACCEPTED,
    'True',
    Reason.Accepted,
    `attached to Gateway ${attachment.gateway} listener ${attachment.listeners.join(', ')}`,
  );
  if (invalid === 0) return [accepted, resolvedRefs];
  const partial = `rules that Ambit cannot apply answer 500: ${issues.invalidMessages()}`;
  return [accepted, resolvedRefs, condition(PARTIALLY_INVALID, 'True', Reason.UnsupportedValue, partial)];
}

function condition(
  type: string,
  status: ConditionData['status'],
  reason: Reason,
  message: string,
): ConditionData {
  return { type, status, reason, message };
}

function parentConditions(parent: ParentOutcome, issues: RouteIssues, ruleCount: number): ConditionData[] {
  const [firstRef] = issues.refs;
  const resolvedRefs =
    firstRef === undefined
      ? condition(RESOLVED_REFS, 'True', Reason.ResolvedRefs, 'all references resolved')
      : condition(RESOLVED_REFS, 'False', firstRef.reason, issues.refs.map((r) => r.message).join('; '));
  if (!parent.accepted) return [condition(ACCEPTED, 'False', parent.reason, parent.message), resolvedRefs];
  const invalid = issues.invalidRules.size;
  if (invalid > 0 && invalid === ruleCount) {
    const message = `no rule can be applied, so requests they match are answered 500: ${issues.invalidMessages()}`;
    return [condition(ACCEPTED, 'False', Reason.UnsupportedValue, message), resolvedRefs];
  }
  const port = parent.parentRef.port === undefined ? '' : ` port ${parent.parentRef.port}`;
  const ignored = issues.notes.length > 0 ? `; ignored: ${issues.notes.join('; ')}` : '';
  const accepted = condition(
    ACCEPTED,
    'True',
    Reason.Accepted,
    `routes requests to Service ${parent.service}${port}${ignored}`,
  );
  if (invalid === 0) return [accepted, resolvedRefs];
  const partial = `rules that Ambit cannot apply answer 500: ${issues.invalidMessages()}`;
  return [accepted, resolvedRefs, condition(PARTIALLY_INVALID, 'True', Reason.UnsupportedValue, partial)];
}

const ANSWER_500: FaultPolicy = { abort: { status: 500, percent: 100 } };
const FAIL_500: RuleAction = { backends: [], fault: ANSWER_500, mirrors: [] };

/** Invariant 5: a rule with nowhere to send a request answers 500. */
function withFallback(action: RuleAction): RuleAction {
  if (action.backends.length > 0 || action.redirect) return action;
  const { mirrors, ...rest } = action;
  return { ...rest, fault: ANSWER_500, mirrors };
}

interface Entry<S> extends Ranked<S> {
  readonly rule: RouteRule;
  readonly source: SourceRef;
}

function entries<S>(
  route: RouteRef & { readonly creationTimestamp?: string; readonly source: SourceRef },
  rules: readonly TranslatedRule<S>[],
  issues: RouteIssues,
  ports: readonly (number | undefined)[],
): Entry<S>[] {
  return rules.flatMap((rule, ruleIndex) => {
    const action = issues.invalidRules.has(ruleIndex) ? FAIL_500 : withFallback(rule.action);
    return rule.matches.flatMap(({ match, specificity }, matchIndex) =>
      ports.map((port) => ({
        specificity,
        origin: {
          ...(route.creationTimestamp === undefined ? {} : { creationTimestamp: route.creationTimestamp }),
          namespace: route.namespace,
          name: route.name,
          ruleIndex,
          matchIndex,
        },
        source: route.source,
        rule: {
          name: `${route.kind}/${route.namespace}/${route.name}#${ruleIndex}.${matchIndex}`,
          matches: [port === undefined ? match : { ...match, port }],
          ...action,
        },
      })),
    );
  });
}

function matchesEverything(m: RouteMatch): boolean {
  const everyPath =
    m.path === undefined ||
    ('pathPrefix' in m.path && m.path.pathPrefix === '/') ||
    ('prefix' in m.path && m.path.prefix === '/');
  return everyPath && m.method === undefined && m.headers.length === 0 && m.queryParams.length === 0;
}

/** Invariant 6: a 404 rule for each attached port (or for all) that no rule fully covers. */
function unmatchedRules(service: string, rules: readonly RouteRule[]): RouteRule[] {
  const attached = portRestrictions(rules.map((r) => r.matches[0]?.port));
  const covered = (port: number | undefined) =>
    rules.some((r) => {
      const m = r.matches[0];
      return m !== undefined && matchesEverything(m) && (m.port === undefined || m.port === port);
    });
  return attached
    .filter((port) => !covered(port))
    .map((port) => ({
      name: `Service/${service}#unmatched`,
      matches: [{ headers: [], queryParams: [], ...(port === undefined ? {} : { port }) }],
      backends: [],
      fault: { abort: { status: 404, percent: 100 } },
      mirrors: [],
    }));
}

function table<S>(service: string, list: readonly Entry<S>[], kind: RouteKind<unknown, S>): RouteTable {
  const sorted = list.toSorted(byPrecedence(kind.compareSpecificity));
  const rules = sorted.map((e) => e.rule);
  const sources = new Map(sorted.map((e) => [`${e.source.namespace}/${e.source.name}`, e.source]));
  return {
    id: service,
    service,
    protocol: kind.protocol,
    rules: [...rules, ...unmatchedRules(service, rules)],
    sources: [...sources.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([, s]) => s),
  };
}

/** Gateway API's first two precedence keys: characters of a matching non-wildcard hostname, then of any hostname. */
function compareHosts(a: string | undefined, b: string | undefined): number {
  const exact = (h: string | undefined) => (h === undefined || h.startsWith('*.') ? 0 : h.length);
  const any = (h: string | undefined) => h?.length ?? 0;
  return exact(b) - exact(a) || any(b) - any(a);
}

interface HostRanked<S> {
  readonly host: string | undefined;
  readonly inner: S;
}

/** The rules of a route on one ingress listener port: one entry per (rule, match, served host). */
function gatewayEntries<S>(
  route: RouteRef & { readonly creationTimestamp?: string; readonly source: SourceRef },
  rules: readonly TranslatedRule<S>[],
  issues: RouteIssues,
  hosts: readonly string[] | undefined,
): Entry<HostRanked<S>>[] {
  return rules.flatMap((rule, ruleIndex) => {
    const action = issues.invalidRules.has(ruleIndex) ? FAIL_500 : withFallback(rule.action);
    return rule.matches.flatMap(({ match, specificity }, matchIndex) =>
      (hosts ?? [undefined]).map((host) => ({
        specificity: { host, inner: specificity },
        origin: {
          ...(route.creationTimestamp === undefined ? {} : { creationTimestamp: route.creationTimestamp }),
          namespace: route.namespace,
          name: route.name,
          ruleIndex,
          matchIndex,
        },
        source: route.source,
        rule: {
          name: `${route.kind}/${route.namespace}/${route.name}#${ruleIndex}.${matchIndex}`,
          matches: [host === undefined ? match : { ...match, hosts: [host] }],
          ...action,
        },
      })),
    );
  });
}

/** An ingress listener port's table: rules by Gateway API precedence, then 404 for a request no route takes. */
function gatewayTable<S>(
  gateway: string,
  port: number,
  list: readonly Entry<HostRanked<S>>[],
  kind: RouteKind<unknown, S>,
): RouteTable {
  const sorted = list.toSorted(
    byPrecedence<HostRanked<S>>(
      (a, b) => compareHosts(a.host, b.host) || kind.compareSpecificity(a.inner, b.inner),
    ),
  );
  const sources = new Map(sorted.map((e) => [`${e.source.namespace}/${e.source.name}`, e.source]));
  return finishIngressTable({
    id: `gateway:${gateway}:${port}`,
    service: '',
    gateway: { gateway, port },
    protocol: kind.protocol,
    rules: sorted.map((e) => e.rule),
    sources: [...sources.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([, s]) => s),
  });
}

const isUnmatchedRule = (r: RouteRule) => r.name.endsWith('#unmatched');

/**
 * An ingress table's last rule: 404 for a request no route takes, unless some rule without hosts already takes
 * every request. Idempotent, so tables merged from HTTPRoutes and GRPCRoutes on one port end in one such rule.
 */
export function finishIngressTable(t: RouteTable): RouteTable {
  const rules = t.rules.filter((r) => !isUnmatchedRule(r));
  const catchAll = rules.some((r) => {
    const m = r.matches[0];
    return m !== undefined && m.hosts === undefined && matchesEverything(m);
  });
  if (catchAll || !t.gateway) return { ...t, rules };
  const unmatched: RouteRule = {
    name: `Gateway/${t.gateway.gateway}:${t.gateway.port}#unmatched`,
    matches: [{ headers: [], queryParams: [] }],
    backends: [],
    fault: { abort: { status: 404, percent: 100 } },
    mirrors: [],
  };
  return { ...t, rules: [...rules, unmatched] };
}

/** The table of an ingress listener port no route attaches to: every request answered 404. */
export function emptyIngressTable(gateway: string, port: number): RouteTable {
  return finishIngressTable({
    id: `gateway:${gateway}:${port}`,
    service: '',
    gateway: { gateway, port },
    protocol: 'HTTP',
    rules: [],
    sources: [],
  });
}

/** Translates every route of one kind: the route tables of the Services they attach to, and their status. */
export function translateRoutes<R extends RouteObject, S>(
  routes: readonly R[],
  ctx: RouteContext,
  kind: RouteKind<R, S>,
): RouteTranslation {
  const byService = new Map<string, Entry<S>[]>();
  const byGatewayPort = new Map<string, { gateway: string; port: number; list: Entry<HostRanked<S>>[] }>();
  const statuses: RouteStatus[] = [];
  for (const route of routes) {
    const namespace = route.metadata.namespace ?? 'default';
    const name = route.metadata.name ?? '';
    const ref = {
      kind: kind.kind,
      namespace,
      name,
      creationTimestamp: route.metadata.creationTimestamp,
      source: { group: GATEWAY_GROUP, kind: kind.kind, namespace, name },
    };
    const parents = (route.spec.parentRefs ?? [])
      .filter(isServiceParent)
      .map((p) => resolveParent(p, ref, ctx));
    const hostnames = route.spec.hostnames ?? [];
    const ingress = ctx.ingress;
    const gatewayParents = ingress
      ? (route.spec.parentRefs ?? []).filter(isGatewayParent).flatMap((p) => {
          const a = attachToGateway(p, { kind: kind.kind, namespace, hostnames }, ingress);
          return a.kind === 'not-ours' ? [] : [{ parentRef: p, attachment: a }];
        })
      : [];
    if (parents.length === 0 && gatewayParents.length === 0) continue;
    const issues = new RouteIssues();
    if (hostnames.length > 0 && parents.length > 0) {
      // Notes only go into Service parents' messages; a Gateway parent uses hostnames.
      issues.notes.push('spec.hostnames (a Service parent already decides which requests the route sees)');
    }
    const rules = kind.rules(route, (i) => issues.scope(ref, ctx, i));
    const gatewayStatuses = gatewayParents.map(({ parentRef, attachment }): RouteParentStatus => ({
      parentRef,
      conditions: gatewayParentConditions(attachment, issues, rules.length),
      controller: 'gateway',
      ...(attachment.kind === 'attached'
        ? { attached: { gateway: attachment.gateway, listeners: attachment.listeners } }
        : {}),
    }));
    statuses.push({
      route: ref.source,
      parents: [
        ...parents.map((p) => ({
          parentRef: p.parentRef,
          conditions: parentConditions(p, issues, rules.length),
        })),
        ...gatewayStatuses,
      ],
    });
    for (const [service, ports] of attachments(parents)) {
      byService.set(service, [...(byService.get(service) ?? []), ...entries(ref, rules, issues, ports)]);
    }
    // Per listener port, the hosts the route serves there (any host if one listener takes every host).
    const servedByPort = new Map<string, { gateway: string; port: number; hosts: Set<string> | undefined }>();
    for (const { attachment } of gatewayParents) {
      if (attachment.kind !== 'attached') continue;
      for (const { port, hosts } of attachment.serving) {
        const k = `${attachment.gateway}:${port}`;
        const slot = servedByPort.get(k) ?? { gateway: attachment.gateway, port, hosts: new Set<string>() };
        if (hosts === undefined) slot.hosts = undefined;
        else for (const h of hosts) slot.hosts?.add(h);
        servedByPort.set(k, slot);
      }
    }
    for (const [k, { gateway, port, hosts }] of servedByPort) {
      let slot = byGatewayPort.get(k);
      if (!slot) byGatewayPort.set(k, (slot = { gateway, port, list: [] }));
      slot.list.push(...gatewayEntries(ref, rules, issues, hosts && [...hosts].sort()));
    }
  }

  const tables = [...byService.entries()]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([service, list]) => table(service, list, kind));
  const ingressTables = [...byGatewayPort.entries()]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([, slot]) => gatewayTable(slot.gateway, slot.port, slot.list, kind));
  return { tables: [...tables, ...ingressTables], statuses };
}
