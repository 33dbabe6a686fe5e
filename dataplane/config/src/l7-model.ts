// What a waypoint receives besides workloads, services and L4 policy (DESIGN §4): route tables (from
// VirtualService, HTTPRoute, GRPCRoute) and destination policy (from DestinationRule), plus the L7 half of an
// authorization matcher. Domain types only; the wire form converts at one edge (wire.ts).
import type { SourceRef } from './model.ts';

/** How a string (path, header, query value) is matched. `pathPrefix` is Gateway API's segment-wise prefix. */
export type StringMatch =
  | { readonly exact: string }
  /** Plain string prefix (Istio's `prefix`). */
  | { readonly prefix: string }
  /** Path-segment prefix: `/foo` matches `/foo` and `/foo/bar`, not `/foobar` (Gateway API `PathPrefix`). */
  | { readonly pathPrefix: string }
  /** RE2-compatible, anchored at both ends (Istio and Gateway API both match the whole value). */
  | { readonly regex: string };

export interface HeaderMatch {
  /** Lowercase. */
  readonly name: string;
  /** Absent: the header must be present (any value). */
  readonly value?: StringMatch;
  /** The match succeeds when the header does NOT match (Istio `withoutHeaders`, `invertMatch`). */
  readonly invert: boolean;
}

export interface QueryParamMatch {
  readonly name: string;
  /** Absent: the parameter must be present. */
  readonly value?: StringMatch;
}

/** One way a request can match a rule: every given condition holds. */
export interface RouteMatch {
  readonly path?: StringMatch;
  /** Uppercase HTTP method. */
  readonly method?: string;
  readonly headers: readonly HeaderMatch[];
  readonly queryParams: readonly QueryParamMatch[];
  /** The Service port the request came to (VirtualService `port`). */
  readonly port?: number;
  /**
   * Ingress tables only: the request's host (lowercase, without port) must equal one of these, or end in the
   * suffix of a `*.` entry (`*.example.com` takes `a.example.com` and `a.b.example.com`). Absent: any host.
   */
  readonly hosts?: readonly string[];
}

export interface HeaderValue {
  readonly name: string;
  readonly value: string;
}

export interface HeaderMutation {
  /** Replace (or add) these headers. */
  readonly set: readonly HeaderValue[];
  /** Append these values. */
  readonly add: readonly HeaderValue[];
  /** Lowercase names to remove. */
  readonly remove: readonly string[];
}

/** Where a request goes: a Service (optionally one subset of it), with a relative weight. */
export interface BackendRef {
  /** `<namespace>/<name>`. */
  readonly service: string;
  readonly port: number;
  readonly subset?: string;
  /** Relative weight; 0 takes no traffic. A rule with backends whose weights are all 0 answers 500. */
  readonly weight: number;
  /** Per-backend header changes (Gateway API backendRef filters, Istio destination `headers`). */
  readonly requestHeaders?: HeaderMutation;
  readonly responseHeaders?: HeaderMutation;
}

/** Replaces the whole path, or the part the rule's `pathPrefix`/`prefix` matched. */
export type PathModifier = { readonly full: string } | { readonly prefix: string };

export interface Redirect {
  readonly scheme?: string;
  readonly host?: string;
  readonly port?: number;
  readonly path?: PathModifier;
  /** 301, 302, 303, 307 or 308. */
  readonly statusCode: number;
}

export interface Rewrite {
  /** Replaces the Host/:authority. */
  readonly host?: string;
  readonly path?: PathModifier;
}

export interface RetryPolicy {
  /** Retries after the first try (Istio `attempts`); 0 disables retries. */
  readonly attempts: number;
  readonly perTryTimeoutMs?: number;
  /** Envoy's retry conditions as Istio spells them: 5xx, gateway-error, reset, connect-failure, retriable-4xx, … */
  readonly retryOn: readonly string[];
  /** Extra status codes that are retried (Istio numeric `retryOn` entries, Gateway API `codes`). */
  readonly retriableStatusCodes: readonly number[];
}

export interface FaultPolicy {
  readonly delay?: { readonly ms: number; readonly percent: number };
  readonly abort?: { readonly status: number; readonly percent: number };
}

export interface Mirror {
  readonly backend: BackendRef;
  /** 0–100. */
  readonly percent: number;
}

/** One rule of a route table. A request takes the first rule with a matching `matches` entry. */
export interface RouteRule {
  /** For telemetry and debugging: `<kind>/<namespace>/<name>#<index>`. */
  readonly name: string;
  /** Empty: matches every request. */
  readonly matches: readonly RouteMatch[];
  /** Empty (and no redirect): the rule matched but can route nowhere, and the waypoint answers 500. */
  readonly backends: readonly BackendRef[];
  /** Answered by the waypoint itself; no backend is used. */
  readonly redirect?: Redirect;
  readonly rewrite?: Rewrite;
  readonly requestHeaders?: HeaderMutation;
  readonly responseHeaders?: HeaderMutation;
  /** Whole-request timeout; the waypoint answers 504 when it passes. */
  readonly timeoutMs?: number;
  readonly retry?: RetryPolicy;
  readonly fault?: FaultPolicy;
  readonly mirrors: readonly Mirror[];
}

/**
 * The routes for one Service, as a waypoint applies them. Rules are in precedence order, already sorted by the
 * control plane the way the source API defines it (VirtualService: declaration order; Gateway API: match
 * specificity, then age, then name), so the waypoint takes the first match. No matching rule: the Service's default
 * (all its endpoints, unchanged request).
 */
export interface RouteTable {
  /** `<namespace>/<service>`, or `gateway:<namespace>/<name>:<port>` for an ingress listener port. */
  readonly id: string;
  /** The Service; '' for an ingress table. */
  readonly service: string;
  /** Ingress tables only: the Gateway (`<namespace>/<name>`) and the listener port whose requests they route. */
  readonly gateway?: { readonly gateway: string; readonly port: number };
  /** `HTTP` or `GRPC` (the latter keeps trailers and answers errors as gRPC status). */
  readonly protocol: 'HTTP' | 'GRPC';
  readonly rules: readonly RouteRule[];
  /** Every object that contributed a rule. */
  readonly sources: readonly SourceRef[];
}

export type LoadBalancer = 'ROUND_ROBIN' | 'LEAST_REQUEST' | 'RANDOM';

export interface ConnectionPool {
  readonly maxConnections?: number;
  readonly maxPendingRequests?: number;
  readonly maxRequestsPerConnection?: number;
}

export interface OutlierDetection {
  readonly consecutive5xxErrors: number;
  readonly intervalMs: number;
  readonly baseEjectionTimeMs: number;
  /** 0–100: at most this share of endpoints is ejected at once. */
  readonly maxEjectionPercent: number;
}

export interface TrafficPolicy {
  readonly loadBalancer?: LoadBalancer;
  readonly connectionPool?: ConnectionPool;
  readonly outlierDetection?: OutlierDetection;
}

/** A DestinationRule subset, resolved by the control plane to the workloads whose labels it selects. */
export interface Subset {
  readonly name: string;
  /** Workload uids. */
  readonly workloads: readonly string[];
  /** Overrides the policy's own, field by field. */
  readonly trafficPolicy?: TrafficPolicy;
}

/** How a waypoint treats the endpoints of one Service (DestinationRule). */
export interface DestinationPolicy {
  /** `<namespace>/<service>`. */
  readonly id: string;
  readonly service: string;
  readonly trafficPolicy: TrafficPolicy;
  readonly subsets: readonly Subset[];
  readonly source: SourceRef;
}

/**
 * The L7 half of an authorization matcher, only in waypoint copies of a policy (ztunnel copies never carry it).
 * Same semantics as the L4 lists: non-empty positive lists must contain the value, negative lists must not.
 */
export interface L7Match {
  /** Uppercase. */
  readonly methods: readonly string[];
  readonly notMethods: readonly string[];
  /** Istio forms: exact, `prefix*`, `*suffix`, `*`. */
  readonly paths: readonly string[];
  readonly notPaths: readonly string[];
  /** Host header values (ports stripped), Istio forms, case-insensitive. */
  readonly hosts: readonly string[];
  readonly notHosts: readonly string[];
  /** `when: request.headers[<name>]`: the header must have one of the values (Istio forms). */
  readonly headers: readonly { readonly name: string; readonly values: readonly string[] }[];
  readonly notHeaders: readonly { readonly name: string; readonly values: readonly string[] }[];
}

export const EMPTY_L7_MATCH: L7Match = {
  methods: [],
  notMethods: [],
  paths: [],
  notPaths: [],
  hosts: [],
  notHosts: [],
  headers: [],
  notHeaders: [],
};
