// The parts of a GAMMA route rule that HTTPRoute and GRPCRoute share: header matches, backends (with their
// ReferenceGrant checks), the common filters, and the experimental-channel fields.
//
// A backendRef that does not resolve keeps its weight, so its share of requests is answered 500 as Gateway API asks:
// the waypoint answers 500 for a BackendRef whose Service id or port it does not know.
//  1. A missing Service or port keeps the real id: the route starts working when the Service appears.
//  2. A reference that must not be followed gets `RefNotPermitted:<ns>/<name>` (cross-namespace without a
//     ReferenceGrant) or `InvalidKind:<ns>/<name>` (not a Service): ids no Service can have, as `:` is not allowed
//     in Kubernetes names, so the waypoint never reaches the real Service.
//  3. A mirror whose backend does not resolve is dropped (Gateway API), with the same ResolvedRefs condition.
import type { ReferenceGrant } from '@ambit/codegen/crds';
import type {
  BackendRef,
  HeaderMatch,
  HeaderMutation,
  Mirror,
  Redirect,
  Rewrite,
  StringMatch,
} from '@ambit/config';
import type { IngressGateways } from './ingress-attachment.ts';
import { referenceAllowed } from './reference-grant.ts';
import { Reason } from './status.ts';

export const GATEWAY_GROUP = 'gateway.networking.k8s.io';

/** What route translation needs besides the routes. */
export interface RouteContext {
  /** The ports of a Service, or undefined when it does not exist. */
  service(namespace: string, name: string): { readonly ports: readonly number[] } | undefined;
  readonly referenceGrants: readonly ReferenceGrant[];
  /** The ingress Gateways of ours, for routes with Gateway parents (absent: such parents are ignored). */
  readonly ingress?: IngressGateways;
}

// Input shapes both route kinds satisfy, so that one function serves both.
interface NameValue {
  readonly name: string;
  readonly value: string;
}
interface HeaderModifierSpec {
  readonly set?: readonly NameValue[];
  readonly add?: readonly NameValue[];
  readonly remove?: readonly string[];
}
interface ObjectRefSpec {
  readonly group?: string;
  readonly kind?: string;
  readonly name: string;
  readonly namespace?: string;
  readonly port?: number;
}
export interface FilterSpec {
  readonly type: string;
  readonly requestHeaderModifier?: HeaderModifierSpec;
  readonly responseHeaderModifier?: HeaderModifierSpec;
  readonly requestMirror?: {
    readonly backendRef: ObjectRefSpec;
    readonly percent?: number;
    readonly fraction?: { readonly numerator: number; readonly denominator?: number };
  };
  readonly extensionRef?: { readonly group: string; readonly kind: string; readonly name: string };
}
interface BackendRefSpec extends ObjectRefSpec {
  readonly weight?: number;
  readonly filters?: readonly FilterSpec[];
}
export interface HeaderMatchSpec {
  readonly name: string;
  readonly type?: 'Exact' | 'RegularExpression';
  readonly value: string;
}

/**
 * Rule fields of Gateway API's experimental channel. The standard CRDs Ambit installs prune them, but a cluster may
 * run the experimental CRDs, so they are read (and honoured or reported) rather than assumed absent.
 */
export interface ExperimentalRuleFields {
  readonly retry?: {
    readonly attempts?: number;
    readonly codes?: readonly number[];
    readonly backoff?: string;
  };
  readonly sessionPersistence?: object;
}

/** A rule seen through its experimental fields (taken as `object`, which TypeScript lets a weak type view). */
export function experimentalFields(rule: object): ExperimentalRuleFields {
  return rule;
}

/** The route a rule belongs to. */
export interface RouteRef {
  readonly kind: 'HTTPRoute' | 'GRPCRoute';
  readonly namespace: string;
  readonly name: string;
}

export interface RefProblem {
  readonly reason: Reason;
  readonly message: string;
}

/** What translating one rule needs, and where it reports what it could not do. Fields are paths like `spec.rules[0]`. */
export interface RuleScope {
  readonly route: RouteRef;
  readonly ctx: RouteContext;
  /** `spec.rules[<index>]`. */
  readonly field: string;
  /** The rule needs something Ambit cannot apply: it will answer 500. */
  unsupported(field: string, message: string): void;
  /** A reference that does not resolve (ResolvedRefs False). */
  unresolved(problem: RefProblem): void;
  /** A field left out that only loses a refinement. */
  note(field: string, message: string): void;
}

export function isCoreGroup(group: string): boolean {
  return group === '' || group === 'core';
}

/** `exact` unless the type says RegularExpression (Gateway API's default is Exact). */
export function stringMatch(type: 'Exact' | 'RegularExpression' | undefined, value: string): StringMatch {
  return type === 'RegularExpression' ? { regex: value } : { exact: value };
}

/** Header matches with lowercase names; of several entries with one name only the first counts (Gateway API). */
export function headerMatches(specs: readonly HeaderMatchSpec[] | undefined): HeaderMatch[] {
  const seen = new Set<string>();
  return (specs ?? []).flatMap((h) => {
    const name = h.name.toLowerCase();
    if (seen.has(name)) return [];
    seen.add(name);
    return [{ name, value: stringMatch(h.type, h.value), invert: false }];
  });
}

function headerMutation(spec: HeaderModifierSpec | undefined): HeaderMutation {
  const values = (list: readonly NameValue[] | undefined) =>
    (list ?? []).map((h) => ({ name: h.name, value: h.value }));
  return {
    set: values(spec?.set),
    add: values(spec?.add),
    remove: (spec?.remove ?? []).map((n) => n.toLowerCase()),
  };
}

/** The Service id a reference resolves to, or the problem and the id that stands in for it (see above). */
function resolveServiceRef(
  ref: ObjectRefSpec,
  field: string,
  scope: RuleScope,
): { readonly service: string; readonly problem?: RefProblem } {
  const namespace = ref.namespace ?? scope.route.namespace;
  const id = `${namespace}/${ref.name}`;
  const group = ref.group ?? '';
  const kind = ref.kind ?? 'Service';
  if (!isCoreGroup(group) || kind !== 'Service') {
    const message = `${field}: ${group || 'core'}/${kind} ${id} is not a Service`;
    return { service: `${Reason.InvalidKind}:${id}`, problem: { reason: Reason.InvalidKind, message } };
  }
  if (
    namespace !== scope.route.namespace &&
    !referenceAllowed(
      scope.ctx.referenceGrants,
      { group: GATEWAY_GROUP, kind: scope.route.kind, namespace: scope.route.namespace },
      { group: '', kind: 'Service', namespace, name: ref.name },
    )
  ) {
    const message = `${field}: no ReferenceGrant in namespace ${namespace} allows ${scope.route.kind}s from ${scope.route.namespace} to reach Service ${ref.name}`;
    return {
      service: `${Reason.RefNotPermitted}:${id}`,
      problem: { reason: Reason.RefNotPermitted, message },
    };
  }
  const svc = scope.ctx.service(namespace, ref.name);
  if (!svc) {
    const message = `${field}: Service ${id} not found`;
    return { service: id, problem: { reason: Reason.BackendNotFound, message } };
  }
  if (ref.port === undefined || !svc.ports.includes(ref.port)) {
    const message = `${field}: Service ${id} has no port ${ref.port ?? '(none given)'}`;
    return { service: id, problem: { reason: Reason.BackendNotFound, message } };
  }
  return { service: id };
}

/** The backends of a rule; weight defaults to 1. */
export function backends(refs: readonly BackendRefSpec[] | undefined, scope: RuleScope): BackendRef[] {
  return (refs ?? []).map((ref, i) => {
    const field = `${scope.field}.backendRefs[${i}]`;
    const resolved = resolveServiceRef(ref, field, scope);
    const problem = resolved.problem;
    if (problem) {
      scope.unresolved({ ...problem, message: `${problem.message} (its share of requests is answered 500)` });
    }
    return {
      service: resolved.service,
      port: ref.port ?? 0,
      weight: ref.weight ?? 1,
      ...backendFilters(ref.filters ?? [], `${field}.filters`, scope),
    };
  });
}

/** Per-backend filters: header modifiers only (the other types are implementation-specific there). */
function backendFilters(
  filters: readonly FilterSpec[],
  field: string,
  scope: RuleScope,
): Pick<BackendRef, 'requestHeaders' | 'responseHeaders'> {
  const out: { requestHeaders?: HeaderMutation; responseHeaders?: HeaderMutation } = {};
  filters.forEach((f, i) => {
    if (f.type === 'RequestHeaderModifier') out.requestHeaders = headerMutation(f.requestHeaderModifier);
    else if (f.type === 'ResponseHeaderModifier')
      out.responseHeaders = headerMutation(f.responseHeaderModifier);
    else scope.unsupported(`${field}[${i}]`, `${f.type} filters are not supported on a backendRef`);
  });
  return out;
}

/** What a rule's filters add to it. */
export interface FilterEffects {
  redirect?: Redirect;
  rewrite?: Rewrite;
  requestHeaders?: HeaderMutation;
  responseHeaders?: HeaderMutation;
  readonly mirrors: Mirror[];
}

/**
 * Applies a rule's filters. `kindFilter` handles the types only one route kind has and returns false for the
 * others; header modifiers and mirrors are common; anything else (ExtensionRef, CORS) is unsupported.
 */
export function filterEffects<F extends FilterSpec>(
  filters: readonly F[] | undefined,
  scope: RuleScope,
  kindFilter: (f: F, out: FilterEffects) => boolean = () => false,
): FilterEffects {
  const out: FilterEffects = { mirrors: [] };
  (filters ?? []).forEach((f, i) => {
    const field = `${scope.field}.filters[${i}]`;
    if (kindFilter(f, out)) return;
    switch (f.type) {
      case 'RequestHeaderModifier':
        out.requestHeaders = headerMutation(f.requestHeaderModifier);
        return;
      case 'ResponseHeaderModifier':
        out.responseHeaders = headerMutation(f.responseHeaderModifier);
        return;
      case 'RequestMirror': {
        const m = f.requestMirror && mirror(f.requestMirror, field, scope);
        if (m) out.mirrors.push(m);
        return;
      }
      case 'ExtensionRef': {
        const ext = f.extensionRef;
        const what = ext ? ` (${ext.group}/${ext.kind} ${ext.name})` : '';
        scope.unsupported(field, `ExtensionRef filters are not supported${what}`);
        return;
      }
      default:
        scope.unsupported(field, `${f.type} filters are not supported`);
    }
  });
  // A fixed field order, whatever the order of the filters, keeps the output stable.
  return {
    ...(out.redirect && { redirect: out.redirect }),
    ...(out.rewrite && { rewrite: out.rewrite }),
    ...(out.requestHeaders && { requestHeaders: out.requestHeaders }),
    ...(out.responseHeaders && { responseHeaders: out.responseHeaders }),
    mirrors: out.mirrors,
  };
}

/** A mirror, or undefined when its backend does not resolve: Gateway API drops such a mirror. */
function mirror(
  spec: NonNullable<FilterSpec['requestMirror']>,
  field: string,
  scope: RuleScope,
): Mirror | undefined {
  const resolved = resolveServiceRef(spec.backendRef, `${field}.requestMirror.backendRef`, scope);
  const problem = resolved.problem;
  if (problem) {
    scope.unresolved({ ...problem, message: `${problem.message} (not mirrored)` });
    return undefined;
  }
  const fraction = spec.fraction;
  const percent =
    spec.percent ?? (fraction ? (100 * fraction.numerator) / (fraction.denominator ?? 100) : 100);
  return { backend: { service: resolved.service, port: spec.backendRef.port ?? 0, weight: 1 }, percent };
}

/** Reports the experimental rule fields Ambit does not apply (retry is the HTTP translator's). */
export function noteExperimentalFields(rule: object, scope: RuleScope): void {
  if (experimentalFields(rule).sessionPersistence !== undefined) {
    scope.note(`${scope.field}.sessionPersistence`, 'not supported, requests are balanced without affinity');
  }
}
