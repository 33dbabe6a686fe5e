// Translates an AuthorizationPolicy attached with targetRefs into the copy waypoints enforce (DESIGN §7: targetRefs
// policies reach waypoints only; waypoints never enforce selector policies). Pure.
//
// What a waypoint checks, per rule:
//  1. `from.source`: principals, namespaces, ipBlocks, remoteIpBlocks (the waypoint sees the caller's address), and
//     their not-forms. `requestPrincipals` (JWT) is not supported.
//  2. `to.operation`: hosts, ports, methods, paths and their not-forms.
//  3. `when`: request.headers[<name>], source.ip, remote.ip, source.namespace, source.principal,
//     source.serviceAccount (as the principal pattern `*/ns/<ns>/sa/<sa>`), destination.ip, destination.port.
//  4. Anything else fails closed: an ALLOW rule using it is dropped (it can only allow less); in a DENY the
//     unsupported clause matches everything, so the rule denies more. The status names each field.
//  5. Targets: a Service (`group: ""`) → `service:<ns>/<name>`; a Gateway → `gateway:<ns>/<name>` (every request
//     through that waypoint). Other kinds are reported and not targeted.
import type { AuthorizationPolicy } from '@ambit/codegen/crds';
import {
  EMPTY_L7_MATCH,
  EMPTY_MATCH,
  type AnyOf,
  type Authorization,
  type L7Match,
  type Match,
  type Rule,
} from '@ambit/config';
import type { TranslationNote } from './authorization-policy.ts';
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

export type WaypointPolicyTranslation =
  | { readonly kind: 'waypoint'; readonly record: Authorization; readonly notes: readonly TranslationNote[] }
  | { readonly kind: 'not-enforced'; readonly message: string }
  | { readonly kind: 'invalid'; readonly errors: readonly FieldError[] };

const SOURCE_FIELDS = [
  'principals',
  'notPrincipals',
  'namespaces',
  'notNamespaces',
  'ipBlocks',
  'notIpBlocks',
  'remoteIpBlocks',
  'notRemoteIpBlocks',
];
const OPERATION_FIELDS = [
  'hosts',
  'notHosts',
  'ports',
  'notPorts',
  'methods',
  'notMethods',
  'paths',
  'notPaths',
];
const WHEN_KEYS =
  /^(request\.headers\[[^\]]+\]|source\.ip|remote\.ip|source\.namespace|source\.principal|source\.serviceAccount|destination\.ip|destination\.port)$/;

class Collect {
  readonly errors: FieldError[] = [];
  readonly unsupported: string[] = [];
}

const set = setFields;
const ports = (v: readonly string[] | undefined, field: string, c: Collect) => portValues(v, field, c.errors);
const cidrs = (v: readonly string[] | undefined, field: string, c: Collect) => cidrValues(v, field, c.errors);

function withL7(l7: Partial<L7Match>): Match {
  return { ...EMPTY_MATCH, l7: { ...EMPTY_L7_MATCH, ...l7 } };
}

function sourceMatch(s: Source, field: string, c: Collect): Match {
  for (const k of set(s)) if (!SOURCE_FIELDS.includes(k)) c.unsupported.push(`${field}.${k}`);
  return {
    ...EMPTY_MATCH,
    principals: s.principals ?? [],
    notPrincipals: s.notPrincipals ?? [],
    namespaces: s.namespaces ?? [],
    notNamespaces: s.notNamespaces ?? [],
    sourceIps: [
      ...cidrs(s.ipBlocks, `${field}.ipBlocks`, c),
      ...cidrs(s.remoteIpBlocks, `${field}.remoteIpBlocks`, c),
    ],
    notSourceIps: [
      ...cidrs(s.notIpBlocks, `${field}.notIpBlocks`, c),
      ...cidrs(s.notRemoteIpBlocks, `${field}.notRemoteIpBlocks`, c),
    ],
  };
}

function operationMatch(o: Operation, field: string, c: Collect): Match {
  for (const k of set(o)) if (!OPERATION_FIELDS.includes(k)) c.unsupported.push(`${field}.${k}`);
  return {
    ...withL7({
      methods: (o.methods ?? []).map((m) => m.toUpperCase()),
      notMethods: (o.notMethods ?? []).map((m) => m.toUpperCase()),
      paths: o.paths ?? [],
      notPaths: o.notPaths ?? [],
      hosts: o.hosts ?? [],
      notHosts: o.notHosts ?? [],
    }),
    destinationPorts: ports(o.ports, `${field}.ports`, c),
    notDestinationPorts: ports(o.notPorts, `${field}.notPorts`, c),
  };
}

function conditionMatch(w: Condition, field: string, c: Collect): Match | undefined {
  const values = w.values ?? [];
  const notValues = w.notValues ?? [];
  if (!WHEN_KEYS.test(w.key)) {
    c.unsupported.push(`${field} (key ${w.key})`);
    return undefined;
  }
  const header = /^request\.headers\[([^\]]+)\]$/.exec(w.key)?.[1];
  if (header) {
    const name = header.toLowerCase();
    return withL7({
      headers: values.length > 0 ? [{ name, values }] : [],
      notHeaders: notValues.length > 0 ? [{ name, values: notValues }] : [],
    });
  }
  switch (w.key) {
    case 'source.ip':
    case 'remote.ip':
      return {
        ...EMPTY_MATCH,
        sourceIps: cidrs(values, `${field}.values`, c),
        notSourceIps: cidrs(notValues, `${field}.notValues`, c),
      };
    case 'source.namespace':
      return { ...EMPTY_MATCH, namespaces: values, notNamespaces: notValues };
    case 'source.principal':
      return { ...EMPTY_MATCH, principals: values, notPrincipals: notValues };
    case 'source.serviceAccount': {
      const asPrincipal = (v: string) => {
        const [ns, sa] = v.split('/');
        return ns && sa ? `*/ns/${ns}/sa/${sa}` : v;
      };
      return {
        ...EMPTY_MATCH,
        principals: values.map(asPrincipal),
        notPrincipals: notValues.map(asPrincipal),
      };
    }
    case 'destination.ip':
      return {
        ...EMPTY_MATCH,
        destinationIps: cidrs(values, `${field}.values`, c),
        notDestinationIps: cidrs(notValues, `${field}.notValues`, c),
      };
    default:
      return {
        ...EMPTY_MATCH,
        destinationPorts: ports(values, `${field}.values`, c),
        notDestinationPorts: ports(notValues, `${field}.notValues`, c),
      };
  }
}

function rule(r: SpecRule, field: string, c: Collect): Rule {
  const allOf: AnyOf[] = [];
  if (r.from && r.from.length > 0) {
    allOf.push({
      matches: r.from.map((f, i) => sourceMatch(f.source ?? {}, `${field}.from[${i}].source`, c)),
    });
  }
  if (r.to && r.to.length > 0) {
    allOf.push({
      matches: r.to.map((t, i) => operationMatch(t.operation ?? {}, `${field}.to[${i}].operation`, c)),
    });
  }
  (r.when ?? []).forEach((w, i) => {
    const m = conditionMatch(w, `${field}.when[${i}]`, c);
    // An unsupported condition is left out: the rule then matches more (right for DENY; an ALLOW with one is
    // dropped by the caller before it gets here).
    if (m) allOf.push({ matches: [m] });
  });
  return { allOf };
}

function targetsOf(spec: Spec, namespace: string, notes: TranslationNote[]): string[] {
  const refs = [...(spec.targetRefs ?? []), ...(spec.targetRef ? [spec.targetRef] : [])];
  return refs.flatMap((ref, i) => {
    const ns = ref.namespace ?? namespace;
    if (ref.kind === 'Service' && (ref.group ?? '') === '') return [`service:${ns}/${ref.name}`];
    if (ref.kind === 'Gateway' && ref.group === 'gateway.networking.k8s.io')
      return [`gateway:${ns}/${ref.name}`];
    notes.push({
      field: `spec.targetRefs[${i}]`,
      message: `target kind ${ref.group ?? ''}/${ref.kind} is not supported`,
    });
    return [];
  });
}

export function translateWaypointPolicy(ap: AuthorizationPolicy): WaypointPolicyTranslation {
  const spec: Spec = ap.spec ?? {};
  const namespace = ap.metadata.namespace ?? 'default';
  const name = ap.metadata.name ?? '';
  const action = spec.action ?? 'ALLOW';
  if (action === 'CUSTOM' || action === 'AUDIT') {
    return {
      kind: 'not-enforced',
      message: `action ${action} is not supported by Ambit; the policy is not enforced`,
    };
  }
  if (ap.metadata.annotations?.['istio.io/dry-run'] === 'true') {
    return { kind: 'not-enforced', message: 'dry-run policies are not enforced' };
  }
  const notes: TranslationNote[] = [];
  const targets = targetsOf(spec, namespace, notes);
  const errors: FieldError[] = [];
  const rules: Rule[] = [];
  (spec.rules ?? []).forEach((r, i) => {
    const field = `spec.rules[${i}]`;
    const c = new Collect();
    const translated = rule(r, field, c);
    errors.push(...c.errors);
    if (c.unsupported.length > 0) {
      const what = c.unsupported.join(', ');
      if (action === 'ALLOW') {
        notes.push({
          field,
          message: `uses fields the waypoint does not check (${what}); the rule is dropped, so it allows nothing`,
        });
        return;
      }
      notes.push({ field, message: `the waypoint ignores ${what}, so the rule denies more` });
    }
    rules.push(translated);
  });
  if (errors.length > 0) return { kind: 'invalid', errors };
  return {
    kind: 'waypoint',
    record: {
      id: `${namespace}/${name}`,
      name,
      namespace,
      scope: 'Namespace',
      action: action === 'DENY' ? 'Deny' : 'Allow',
      rules,
      source: { group: 'security.istio.io', kind: 'AuthorizationPolicy', namespace, name },
      targets,
    },
    notes,
  };
}
