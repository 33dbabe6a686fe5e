// Waypoint records (route tables, destination policy) between the domain model and the protocol, at one edge
// (STYLE §15). Decoding checks what the waypoint relies on — regexes compile, weights and percentages are in range,
// status codes are real — so a bad record is rejected alone with its reason.
import * as pb from '@ambit/codegen/proto';
import type {
  BackendRef,
  DestinationPolicy,
  FaultPolicy,
  HeaderMutation,
  LoadBalancer,
  PathModifier,
  RetryPolicy,
  RouteMatch,
  RouteRule,
  RouteTable,
  StringMatch,
  TrafficPolicy,
} from './l7-model.ts';
import { Decoder, sourceFrom, sourceTo } from './wire.ts';

const LB_TO_PB = {
  ROUND_ROBIN: pb.LoadBalancer.LOAD_BALANCER_ROUND_ROBIN,
  LEAST_REQUEST: pb.LoadBalancer.LOAD_BALANCER_LEAST_REQUEST,
  RANDOM: pb.LoadBalancer.LOAD_BALANCER_RANDOM,
} as const;
const LB_FROM_PB = new Map<string, LoadBalancer>(
  Object.entries(LB_TO_PB).map(([k, v]) => [v, k as LoadBalancer]),
);

// ---- to the wire ---------------------------------------------------------------------------------------------

function stringMatchTo(m: StringMatch): pb.StringMatch {
  if ('exact' in m) return { kind: { $case: 'exact', value: m.exact } };
  if ('prefix' in m) return { kind: { $case: 'prefix', value: m.prefix } };
  if ('pathPrefix' in m) return { kind: { $case: 'pathPrefix', value: m.pathPrefix } };
  return { kind: { $case: 'regex', value: m.regex } };
}

function mutationTo(m: HeaderMutation): pb.HeaderMutation {
  return { set: [...m.set], add: [...m.add], remove: [...m.remove] };
}

function pathTo(p: PathModifier): pb.PathModifier {
  return 'full' in p
    ? { kind: { $case: 'full', value: p.full } }
    : { kind: { $case: 'prefix', value: p.prefix } };
}

function backendTo(b: BackendRef): pb.BackendRef {
  return {
    service: b.service,
    port: b.port,
    subset: b.subset ?? '',
    weight: b.weight,
    ...(b.requestHeaders ? { requestHeaders: mutationTo(b.requestHeaders) } : {}),
    ...(b.responseHeaders ? { responseHeaders: mutationTo(b.responseHeaders) } : {}),
  };
}

function matchTo(m: RouteMatch): pb.RouteMatch {
  return {
    ...(m.path ? { path: stringMatchTo(m.path) } : {}),
    method: m.method ?? '',
    headers: m.headers.map((h) => ({
      name: h.name,
      ...(h.value ? { value: stringMatchTo(h.value) } : {}),
      invert: h.invert,
    })),
    queryParams: m.queryParams.map((q) => ({
      name: q.name,
      ...(q.value ? { value: stringMatchTo(q.value) } : {}),
    })),
    ...(m.port !== undefined ? { port: m.port } : {}),
    hosts: [...(m.hosts ?? [])],
  };
}

function ruleTo(r: RouteRule): pb.RouteRule {
  return {
    name: r.name,
    matches: r.matches.map(matchTo),
    backends: r.backends.map(backendTo),
    ...(r.redirect
      ? {
          redirect: {
            scheme: r.redirect.scheme ?? '',
            host: r.redirect.host ?? '',
            ...(r.redirect.port !== undefined ? { port: r.redirect.port } : {}),
            ...(r.redirect.path ? { path: pathTo(r.redirect.path) } : {}),
            statusCode: r.redirect.statusCode,
          },
        }
      : {}),
    ...(r.rewrite
      ? {
          rewrite: {
            host: r.rewrite.host ?? '',
            ...(r.rewrite.path ? { path: pathTo(r.rewrite.path) } : {}),
          },
        }
      : {}),
    ...(r.requestHeaders ? { requestHeaders: mutationTo(r.requestHeaders) } : {}),
    ...(r.responseHeaders ? { responseHeaders: mutationTo(r.responseHeaders) } : {}),
    ...(r.timeoutMs !== undefined ? { timeoutMs: r.timeoutMs } : {}),
    ...(r.retry
      ? {
          retry: {
            attempts: r.retry.attempts,
            ...(r.retry.perTryTimeoutMs !== undefined ? { perTryTimeoutMs: r.retry.perTryTimeoutMs } : {}),
            retryOn: [...r.retry.retryOn],
            retriableStatusCodes: [...r.retry.retriableStatusCodes],
          },
        }
      : {}),
    ...(r.fault
      ? {
          fault: {
            ...(r.fault.delay ? { delay: { ...r.fault.delay } } : {}),
            ...(r.fault.abort ? { abort: { ...r.fault.abort } } : {}),
          },
        }
      : {}),
    mirrors: r.mirrors.map((m) => ({ backend: backendTo(m.backend), percent: m.percent })),
  };
}

export function routeTableToProto(t: RouteTable): pb.RouteTable {
  return {
    id: t.id,
    service: t.service,
    protocol:
      t.protocol === 'GRPC' ? pb.RouteProtocol.ROUTE_PROTOCOL_GRPC : pb.RouteProtocol.ROUTE_PROTOCOL_HTTP,
    rules: t.rules.map(ruleTo),
    sources: t.sources.map(sourceTo),
    ...(t.gateway ? { gateway: { gateway: t.gateway.gateway, port: t.gateway.port } } : {}),
  };
}

function trafficTo(t: TrafficPolicy): pb.TrafficPolicy {
  return {
    loadBalancer: t.loadBalancer ? LB_TO_PB[t.loadBalancer] : pb.LoadBalancer.LOAD_BALANCER_UNSPECIFIED,
    ...(t.connectionPool ? { connectionPool: { ...t.connectionPool } } : {}),
    ...(t.outlierDetection
      ? {
          outlierDetection: {
            consecutive5xxErrors: t.outlierDetection.consecutive5xxErrors,
            intervalMs: t.outlierDetection.intervalMs,
            baseEjectionTimeMs: t.outlierDetection.baseEjectionTimeMs,
            maxEjectionPercent: t.outlierDetection.maxEjectionPercent,
          },
        }
      : {}),
  };
}

export function destinationPolicyToProto(p: DestinationPolicy): pb.DestinationPolicy {
  return {
    id: p.id,
    service: p.service,
    trafficPolicy: trafficTo(p.trafficPolicy),
    subsets: p.subsets.map((s) => ({
      name: s.name,
      workloads: [...s.workloads],
      ...(s.trafficPolicy ? { trafficPolicy: trafficTo(s.trafficPolicy) } : {}),
    })),
    source: sourceTo(p.source),
  };
}

// ---- from the wire -------------------------------------------------------------------------------------------

function stringMatchFrom(m: pb.StringMatch | undefined, d: Decoder, field: string): StringMatch | undefined {
  const k = m?.kind;
  if (!k) return undefined;
  switch (k.$case) {
    case 'exact':
      return { exact: k.value };
    case 'prefix':
      return { prefix: k.value };
    case 'pathPrefix':
      if (!k.value.startsWith('/')) d.fail(`${field}: path prefix must start with /`);
      return { pathPrefix: k.value };
    case 'regex':
      try {
        new RegExp(k.value);
      } catch {
        d.fail(`${field}: invalid regex ${JSON.stringify(k.value)}`);
      }
      return { regex: k.value };
  }
}

function mutationFrom(m: pb.HeaderMutation | undefined): HeaderMutation | undefined {
  if (!m) return undefined;
  return {
    set: m.set.map((h) => ({ name: h.name.toLowerCase(), value: h.value })),
    add: m.add.map((h) => ({ name: h.name.toLowerCase(), value: h.value })),
    remove: m.remove.map((n) => n.toLowerCase()),
  };
}

function percent(v: number, d: Decoder, field: string): number {
  if (!(v >= 0 && v <= 100)) d.fail(`${field}: percentage ${v} is not within 0–100`);
  return v;
}

function pathFrom(p: pb.PathModifier | undefined): PathModifier | undefined {
  const k = p?.kind;
  if (!k) return undefined;
  return k.$case === 'full' ? { full: k.value } : { prefix: k.value };
}

function backendFrom(b: pb.BackendRef, d: Decoder, field: string): BackendRef {
  if (!/^[^/]+\/[^/]+$/.test(b.service))
    d.fail(`${field}.service: not <namespace>/<name>: ${JSON.stringify(b.service)}`);
  const requestHeaders = mutationFrom(b.requestHeaders);
  const responseHeaders = mutationFrom(b.responseHeaders);
  return {
    service: b.service,
    port: d.port(b.port, `${field}.port`),
    ...(b.subset ? { subset: b.subset } : {}),
    weight: b.weight,
    ...(requestHeaders ? { requestHeaders } : {}),
    ...(responseHeaders ? { responseHeaders } : {}),
  };
}

function ruleFrom(r: pb.RouteRule, d: Decoder, i: number): RouteRule {
  const f = `rules[${i}]`;
  const matches: RouteMatch[] = r.matches.map((m, j) => {
    const path = stringMatchFrom(m.path, d, `${f}.matches[${j}].path`);
    return {
      ...(path ? { path } : {}),
      ...(m.method ? { method: m.method.toUpperCase() } : {}),
      headers: m.headers.map((h, k) => {
        const value = stringMatchFrom(h.value, d, `${f}.matches[${j}].headers[${k}]`);
        return { name: h.name.toLowerCase(), ...(value ? { value } : {}), invert: h.invert };
      }),
      queryParams: m.queryParams.map((q, k) => {
        const value = stringMatchFrom(q.value, d, `${f}.matches[${j}].queryParams[${k}]`);
        return { name: q.name, ...(value ? { value } : {}) };
      }),
      ...(m.port !== undefined ? { port: d.port(m.port, `${f}.matches[${j}].port`) } : {}),
      ...(m.hosts.length > 0
        ? { hosts: m.hosts.map((h, k) => hostFrom(h, d, `${f}.matches[${j}].hosts[${k}]`)) }
        : {}),
    };
  });
  const redirect = r.redirect;
  if (redirect && ![301, 302, 303, 307, 308].includes(redirect.statusCode)) {
    d.fail(`${f}.redirect.statusCode: ${redirect.statusCode} is not a redirect status`);
  }
  const fault: FaultPolicy | undefined = r.fault
    ? {
        ...(r.fault.delay
          ? {
              delay: {
                ms: r.fault.delay.ms,
                percent: percent(r.fault.delay.percent, d, `${f}.fault.delay.percent`),
              },
            }
          : {}),
        ...(r.fault.abort
          ? {
              abort: {
                status:
                  r.fault.abort.status >= 200 && r.fault.abort.status < 600
                    ? r.fault.abort.status
                    : d.fail(`${f}.fault.abort.status: ${r.fault.abort.status} is not an HTTP status`),
                percent: percent(r.fault.abort.percent, d, `${f}.fault.abort.percent`),
              },
            }
          : {}),
      }
    : undefined;
  const retry: RetryPolicy | undefined = r.retry
    ? {
        attempts: r.retry.attempts,
        ...(r.retry.perTryTimeoutMs !== undefined ? { perTryTimeoutMs: r.retry.perTryTimeoutMs } : {}),
        retryOn: r.retry.retryOn,
        retriableStatusCodes: r.retry.retriableStatusCodes,
      }
    : undefined;
  const rewritePath = pathFrom(r.rewrite?.path);
  const redirectPath = pathFrom(redirect?.path);
  const requestHeaders = mutationFrom(r.requestHeaders);
  const responseHeaders = mutationFrom(r.responseHeaders);
  return {
    name: r.name,
    matches,
    backends: r.backends.map((b, j) => backendFrom(b, d, `${f}.backends[${j}]`)),
    ...(redirect
      ? {
          redirect: {
            ...(redirect.scheme ? { scheme: redirect.scheme } : {}),
            ...(redirect.host ? { host: redirect.host } : {}),
            ...(redirect.port !== undefined ? { port: d.port(redirect.port, `${f}.redirect.port`) } : {}),
            ...(redirectPath ? { path: redirectPath } : {}),
            statusCode: redirect.statusCode,
          },
        }
      : {}),
    ...(r.rewrite
      ? {
          rewrite: {
            ...(r.rewrite.host ? { host: r.rewrite.host } : {}),
            ...(rewritePath ? { path: rewritePath } : {}),
          },
        }
      : {}),
    ...(requestHeaders ? { requestHeaders } : {}),
    ...(responseHeaders ? { responseHeaders } : {}),
    ...(r.timeoutMs !== undefined ? { timeoutMs: r.timeoutMs } : {}),
    ...(retry ? { retry } : {}),
    ...(fault ? { fault } : {}),
    mirrors: r.mirrors.map((m, j) => {
      if (!m.backend) d.fail(`${f}.mirrors[${j}]: no backend`);
      return {
        backend: backendFrom(m.backend, d, `${f}.mirrors[${j}].backend`),
        percent: percent(m.percent, d, `${f}.mirrors[${j}].percent`),
      };
    }),
  };
}

/** A route host: a DNS name or `*.` and a DNS name, lowercase (Gateway API hostname rules). */
const HOST = /^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

function hostFrom(h: string, d: Decoder, field: string): string {
  const host = h.toLowerCase();
  if (host.length > 253 || !HOST.test(host)) d.fail(`${field}: ${JSON.stringify(h)} is not a hostname`);
  return host;
}

/** The id an ingress table must have. */
export function gatewayTableId(gateway: string, port: number): string {
  return `gateway:${gateway}:${port}`;
}

export function routeTableFromProto(p: pb.RouteTable): RouteTable {
  const d = new Decoder('RouteTable', p.id);
  const g = p.gateway;
  if (g) {
    if (p.service !== '') d.fail(`service ${JSON.stringify(p.service)}: an ingress table has none`);
    d.port(g.port, 'gateway.port');
    if (p.id !== gatewayTableId(g.gateway, g.port))
      d.fail(
        `id must be ${JSON.stringify(gatewayTableId(g.gateway, g.port))} for gateway ${g.gateway} port ${g.port}`,
      );
  } else if (p.service !== p.id) d.fail(`service ${JSON.stringify(p.service)} differs from the id`);
  return {
    id: p.id,
    service: p.service,
    ...(g ? { gateway: { gateway: g.gateway, port: g.port } } : {}),
    protocol: p.protocol === pb.RouteProtocol.ROUTE_PROTOCOL_GRPC ? 'GRPC' : 'HTTP',
    rules: p.rules.map((r, i) => ruleFrom(r, d, i)),
    sources: p.sources.map(sourceFrom),
  };
}

function trafficFrom(t: pb.TrafficPolicy | undefined, d: Decoder, field: string): TrafficPolicy {
  if (!t) return {};
  const o = t.outlierDetection;
  return {
    ...(t.loadBalancer !== pb.LoadBalancer.LOAD_BALANCER_UNSPECIFIED
      ? { loadBalancer: d.known(LB_FROM_PB, t.loadBalancer, `${field}.loadBalancer`) }
      : {}),
    ...(t.connectionPool ? { connectionPool: { ...t.connectionPool } } : {}),
    ...(o
      ? {
          outlierDetection: {
            consecutive5xxErrors: o.consecutive5xxErrors,
            intervalMs: o.intervalMs,
            baseEjectionTimeMs: o.baseEjectionTimeMs,
            maxEjectionPercent: percent(
              o.maxEjectionPercent,
              d,
              `${field}.outlierDetection.maxEjectionPercent`,
            ),
          },
        }
      : {}),
  };
}

export function destinationPolicyFromProto(p: pb.DestinationPolicy): DestinationPolicy {
  const d = new Decoder('DestinationPolicy', p.id);
  return {
    id: p.id,
    service: p.service,
    trafficPolicy: trafficFrom(p.trafficPolicy, d, 'trafficPolicy'),
    subsets: p.subsets.map((s, i) => ({
      name: s.name || d.fail(`subsets[${i}]: empty name`),
      workloads: s.workloads,
      ...(s.trafficPolicy
        ? { trafficPolicy: trafficFrom(s.trafficPolicy, d, `subsets[${i}].trafficPolicy`) }
        : {}),
    })),
    source: sourceFrom(p.source),
  };
}
