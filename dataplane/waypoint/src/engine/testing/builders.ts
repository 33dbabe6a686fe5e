// Small record builders for engine tests (test-only, STYLE §13): every field defaulted, override what matters.
import type {
  BackendRef,
  RequestFacts,
  RouteMatch,
  RouteRule,
  RouteTable,
  ServiceEndpoint,
} from '@ambit/config';

export function request(over: Partial<RequestFacts> = {}): RequestFacts {
  return {
    method: 'GET',
    path: '/',
    host: 'reviews.default.svc.cluster.local',
    headers: {},
    port: 9080,
    ...over,
  };
}

export function match(over: Partial<RouteMatch> = {}): RouteMatch {
  return { headers: [], queryParams: [], ...over };
}

export function backend(over: Partial<BackendRef> = {}): BackendRef {
  return { service: 'default/reviews', port: 9080, weight: 1, ...over };
}

export function rule(name: string, over: Partial<RouteRule> = {}): RouteRule {
  return { name, matches: [], backends: [backend()], mirrors: [], ...over };
}

export function table(...rules: RouteRule[]): RouteTable {
  return { id: 'default/reviews', service: 'default/reviews', protocol: 'HTTP', rules, sources: [] };
}

export function endpoint(uid: string, over: Partial<ServiceEndpoint> = {}): ServiceEndpoint {
  return { workloadUid: uid, ports: { 9080: 9080 }, ready: true, ...over };
}

/** The `code` of what `fn` throws (undefined if it returns), for typed-error assertions. */
export function thrownCode(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return (e as { code?: unknown }).code;
  }
  return undefined;
}
