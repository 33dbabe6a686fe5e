// Translates an Istio AuthorizationPolicy into what ztunnel enforces (DESIGN §7 and §8), as pure data.
//
// What reaches ztunnel, and how L7 narrows, in order:
//  1. Policies with targetRef(s) are for waypoints only; ztunnel never sees them.
//  2. CUSTOM and AUDIT actions and dry-run policies are not enforced by ztunnel: reported, never silently dropped.
//  3. L4 fields: principals, namespaces, ipBlocks, ports (and not-forms); `when` keys source.ip,
//     source.namespace, source.principal, destination.ip, destination.port. Everything else is L7.
//  4. ALLOW: a rule with any L7 field is dropped whole (it could only allow less); the other rules stay.
//  5. DENY: L7 fields are ignored, so the rule covers more. A `from`/`to` entry or `when` condition left with
//     nothing ztunnel can check matches everything (Ambit fails closed where Istio would match nothing).
//  6. Scope: root namespace without selector is Global, other namespaces without selector Namespace, a selector
//     WorkloadSelector (in the root namespace it selects across all namespaces).
import type { AuthorizationPolicy } from '@ambit/codegen/crds';
import { EMPTY_MATCH, type AnyOf, type Authorization, type Match, type Rule } from '@ambit/config';
import {
  cidrValues,
  portValues,
  setFields,
  type Condition,
  type FieldError,
  type Operation,
  type Source,
  type Spec,
  type SpecRule,
} from './policy-values.ts';

/** What the translation needs besides the policy. */
export interface AuthorizationContext {
  /** Mesh.spec.rootNamespace. */
  readonly rootNamespace: string;
}

/** A field the translation left out or changed the meaning of, with why. */
export interface TranslationNote {
  readonly field: string;
  readonly message: string;
}

export type { FieldError } from './policy-values.ts';

export type AuthorizationTranslation =
  /** ztunnel enforces `record`; `notes` say what of the policy it cannot check and how that was handled. */
  | { readonly kind: 'ztunnel'; readonly record: Authorization; readonly notes: readonly TranslationNote[] }
  /** For waypoints (targetRef/targetRefs); whether one enforces it is decided where waypoints are known. */
  | { readonly kind: 'waypoint' }
  /** Valid, but nothing in Ambit enforces it. */
  | { readonly kind: 'not-enforced'; readonly reason: NotEnforcedReason; readonly message: string }
  /** Wrong in meaning (a port that is not a number, a malformed CIDR): the last good version stays in force. */
  | { readonly kind: 'invalid'; readonly errors: readonly FieldError[] };

export type NotEnforcedReason = 'UnsupportedAction' | 'DryRun';

const L4_SOURCE_FIELDS = [
  'principals',
  'notPrincipals',
  'namespaces',
  'notNamespaces',
  'ipBlocks',
  'notIpBlocks',
];
const L4_OPERATION_FIELDS = ['ports', 'notPorts'];
const L4_WHEN_KEYS = [
  'source.ip',
  'source.namespace',
  'source.principal',
  'destination.ip',
  'destination.port',
];

/** The set fields that ztunnel cannot check. */
function l7Fields(object: object | undefined, l4: readonly string[]): string[] {
  return setFields(object).filter((k) => !l4.includes(k));
}

/** Collects field errors while converting values. */
class Errors {
  readonly list: FieldError[] = [];
}

const ports = (v: readonly string[] | undefined, field: string, e: Errors) => portValues(v, field, e.list);
const cidrs = (v: readonly string[] | undefined, field: string, e: Errors) => cidrValues(v, field, e.list);

function sourceMatch(s: Source, field: string, errors: Errors): Match {
  return {
    ...EMPTY_MATCH,
    principals: s.principals ?? [],
    notPrincipals: s.notPrincipals ?? [],
    namespaces: s.namespaces ?? [],
    notNamespaces: s.notNamespaces ?? [],
    sourceIps: cidrs(s.ipBlocks, `${field}.ipBlocks`, errors),
    notSourceIps: cidrs(s.notIpBlocks, `${field}.notIpBlocks`, errors),
  };
}

function operationMatch(o: Operation, field: string, errors: Errors): Match {
  return {
    ...EMPTY_MATCH,
    destinationPorts: ports(o.ports, `${field}.ports`, errors),
    notDestinationPorts: ports(o.notPorts, `${field}.notPorts`, errors),
  };
}

/** One `when` condition as a matcher (values ORed, notValues excluded), for the L4 keys. */
function conditionMatch(c: Condition, field: string, errors: Errors): Match {
  const values = c.values ?? [];
  const notValues = c.notValues ?? [];
  switch (c.key) {
    case 'source.ip':
      return {
        ...EMPTY_MATCH,
        sourceIps: cidrs(values, `${field}.values`, errors),
        notSourceIps: cidrs(notValues, `${field}.notValues`, errors),
      };
    case 'source.namespace':
      return { ...EMPTY_MATCH, namespaces: values, notNamespaces: notValues };
    case 'source.principal':
      return { ...EMPTY_MATCH, principals: values, notPrincipals: notValues };
    case 'destination.ip':
      return {
        ...EMPTY_MATCH,
        destinationIps: cidrs(values, `${field}.values`, errors),
        notDestinationIps: cidrs(notValues, `${field}.notValues`, errors),
      };
    default: // destination.port
      return {
        ...EMPTY_MATCH,
        destinationPorts: ports(values, `${field}.values`, errors),
        notDestinationPorts: ports(notValues, `${field}.notValues`, errors),
      };
  }
}

/** The L7 fields a rule uses, with their field paths. */
function ruleL7Fields(rule: SpecRule, field: string): string[] {
  const out: string[] = [];
  (rule.from ?? []).forEach((f, i) =>
    l7Fields(f.source, L4_SOURCE_FIELDS).forEach((k) => out.push(`${field}.from[${i}].source.${k}`)),
  );
  (rule.to ?? []).forEach((t, i) =>
    l7Fields(t.operation, L4_OPERATION_FIELDS).forEach((k) => out.push(`${field}.to[${i}].operation.${k}`)),
  );
  (rule.when ?? []).forEach((w, i) => {
    if (!L4_WHEN_KEYS.includes(w.key)) out.push(`${field}.when[${i}]`);
  });
  return out;
}

/**
 * One rule as ztunnel sees it: the L4 part of each `from`/`to` entry (an entry with no L4 field becomes the empty
 * matcher, which matches everything) and the L4 `when` conditions. For an ALLOW this is called only on rules
 * without L7 fields; for a DENY it is what makes L7 fields "ignored" and fails closed.
 */
function l4Rule(rule: SpecRule, field: string, errors: Errors): Rule {
  const allOf: AnyOf[] = [];
  if (rule.from && rule.from.length > 0) {
    allOf.push({
      matches: rule.from.map((f, i) => sourceMatch(f.source ?? {}, `${field}.from[${i}].source`, errors)),
    });
  }
  if (rule.to && rule.to.length > 0) {
    allOf.push({
      matches: rule.to.map((t, i) =>
        operationMatch(t.operation ?? {}, `${field}.to[${i}].operation`, errors),
      ),
    });
  }
  (rule.when ?? []).forEach((w, i) => {
    if (L4_WHEN_KEYS.includes(w.key))
      allOf.push({ matches: [conditionMatch(w, `${field}.when[${i}]`, errors)] });
  });
  return { allOf };
}

const WAYPOINT_HINT = 'attach the policy to a waypoint with targetRefs to enforce L7 fields';

export function translateAuthorizationPolicy(
  ap: AuthorizationPolicy,
  ctx: AuthorizationContext,
): AuthorizationTranslation {
  const spec: Spec = ap.spec ?? {};
  const namespace = ap.metadata.namespace ?? 'default';
  const name = ap.metadata.name ?? '';
  if ((spec.targetRefs && spec.targetRefs.length > 0) || spec.targetRef) return { kind: 'waypoint' };
  const action = spec.action ?? 'ALLOW';
  if (action === 'CUSTOM' || action === 'AUDIT') {
    return {
      kind: 'not-enforced',
      reason: 'UnsupportedAction',
      message: `action ${action} is not supported by Ambit; the policy is not enforced`,
    };
  }
  if (ap.metadata.annotations?.['istio.io/dry-run'] === 'true') {
    return { kind: 'not-enforced', reason: 'DryRun', message: 'dry-run policies are not enforced' };
  }
  const errors = new Errors();
  const notes: TranslationNote[] = [];
  const rules: Rule[] = [];
  (spec.rules ?? []).forEach((rule, i) => {
    const field = `spec.rules[${i}]`;
    const l7 = ruleL7Fields(rule, field);
    if (action === 'ALLOW') {
      if (l7.length > 0) {
        notes.push({
          field,
          message: `rule uses L7 fields (${l7.join(', ')}) that ztunnel cannot check; ztunnel drops the rule, so it allows nothing; ${WAYPOINT_HINT}`,
        });
        return;
      }
      rules.push(l4Rule(rule, field, errors));
      return;
    }
    if (l7.length > 0) {
      notes.push({
        field,
        message: `ztunnel ignores the L7 fields (${l7.join(', ')}), so the rule denies its whole L4 scope; ${WAYPOINT_HINT}`,
      });
    }
    rules.push(l4Rule(rule, field, errors));
  });
  if (errors.list.length > 0) return { kind: 'invalid', errors: errors.list };
  const selector = spec.selector?.matchLabels;
  const hasSelector = selector !== undefined && Object.keys(selector).length > 0;
  const scope = hasSelector ? 'WorkloadSelector' : namespace === ctx.rootNamespace ? 'Global' : 'Namespace';
  return {
    kind: 'ztunnel',
    notes,
    record: {
      id: `${namespace}/${name}`,
      name,
      namespace,
      scope,
      action: action === 'DENY' ? 'Deny' : 'Allow',
      rules,
      source: { group: 'security.istio.io', kind: 'AuthorizationPolicy', namespace, name },
    },
  };
}
