// Translates GRPCRoutes attached to Services (GAMMA) into the route tables their waypoints apply (DESIGN §3, §4).
//
// Beyond gateway-routes.ts (parents, status, merge) and route-rules.ts (backends, common filters), gRPC-specific: a
// method match becomes a match on the request path, which gRPC spells `/<service>/<method>`:
//  1. Exact service and method → `exact` `/<service>/<method>`.
//  2. Exact service only → `prefix` `/<service>/` (every method of the service).
//  3. Exact method only → `regex` `/[^/]+/<method>` (that method of any service).
//  4. RegularExpression → `regex` `/(?:<service>)/(?:<method>)`, either part defaulting to one path segment.
//  5. No method → no path condition. Filters: header modifiers, mirrors (ExtensionRef is unsupported).
import type { GRPCRoute } from '@ambit/codegen/crds';
import type { RouteMatch, StringMatch } from '@ambit/config';
import {
  translateRoutes,
  type RouteKind,
  type RouteTranslation,
  type TranslatedRule,
} from './gateway-routes.ts';
import { compareGrpcSpecificity, type GrpcSpecificity } from './route-precedence.ts';
import {
  backends,
  filterEffects,
  headerMatches,
  noteExperimentalFields,
  type RouteContext,
  type RuleScope,
} from './route-rules.ts';

type Rule = NonNullable<GRPCRoute['spec']['rules']>[number];
type Match = NonNullable<Rule['matches']>[number];
type MethodMatch = NonNullable<Match['method']>;

/** One path segment: a service or method name the match leaves open. */
const ANY_SEGMENT = '[^/]+';

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The path condition of a method match (see the module comment). */
export function methodPath(method: MethodMatch | undefined): StringMatch | undefined {
  const service = method?.service;
  const name = method?.method;
  if ((method?.type ?? 'Exact') === 'RegularExpression') {
    const part = (re: string | undefined) => (re === undefined ? ANY_SEGMENT : `(?:${re})`);
    return { regex: `/${part(service)}/${part(name)}` };
  }
  if (service !== undefined && name !== undefined) return { exact: `/${service}/${name}` };
  if (service !== undefined) return { prefix: `/${service}/` };
  if (name !== undefined) return { regex: `/${ANY_SEGMENT}/${escapeRegex(name)}` };
  return undefined;
}

function grpcMatch(m: Match): { match: RouteMatch; specificity: GrpcSpecificity } {
  const path = methodPath(m.method);
  const headers = headerMatches(m.headers);
  return {
    match: { ...(path === undefined ? {} : { path }), headers, queryParams: [] },
    specificity: {
      methodType: m.method ? (m.method.type ?? 'Exact') : 'None',
      serviceLength: m.method?.service?.length ?? 0,
      methodLength: m.method?.method?.length ?? 0,
      headers: headers.length,
    },
  };
}

function grpcRule(rule: Rule, scope: RuleScope): TranslatedRule<GrpcSpecificity> {
  const matches = rule.matches && rule.matches.length > 0 ? rule.matches : [{}];
  noteExperimentalFields(rule, scope);
  return {
    matches: matches.map(grpcMatch),
    action: { backends: backends(rule.backendRefs, scope), ...filterEffects(rule.filters, scope) },
  };
}

const GRPC_ROUTES: RouteKind<GRPCRoute, GrpcSpecificity> = {
  kind: 'GRPCRoute',
  protocol: 'GRPC',
  compareSpecificity: compareGrpcSpecificity,
  rules: (route, scopeFor) => (route.spec.rules ?? []).map((rule, i) => grpcRule(rule, scopeFor(i))),
};

/** Route tables for the Services the GRPCRoutes attach to (one per Service, merged), and each route's status. */
export function translateGrpcRoutes(routes: readonly GRPCRoute[], ctx: RouteContext): RouteTranslation {
  return translateRoutes(routes, ctx, GRPC_ROUTES);
}
