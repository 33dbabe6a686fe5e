// One HTTP request through an L7 front (the waypoint's CONNECT streams, an ingress gateway's listeners): decide
// (the front's planner, which ends in plan/request-plan.ts `planRule`), act (answer, or forward via forward.ts),
// then report (one metric observation and one access-log line, always, whatever happened). What differs between
// the fronts is all in the `RequestScope` the front hands in; everything here is shared.
import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ConnectionFacts, RequestFacts, Service, Workload } from '@ambit/config';
import { applyHeaderMutation, headerValue, type Headers, type Rand } from '../engine/index.ts';
import type { DownstreamExchange, DownstreamRequest } from '../downstream/exchange.ts';
import { replyFor } from '../local-reply.ts';
import type { ClusterPlan, ForwardPlan, RequestPlan } from '../plan/request-plan.ts';
import { formatAccessLog } from '../telemetry/access-log.ts';
import type { RequestLabels, WaypointMetrics } from '../telemetry/metrics.ts';
import { formatTraceparent, nextTraceContext, type TraceContext } from '../telemetry/traceparent.ts';
import { spiffeId, type EndpointTarget } from '../upstream/endpoint-target.ts';
import { RequestBody, RETRY_BUFFER_BYTES } from '../upstream/request-body.ts';
import type { ForwardedSource } from '../upstream/upstream-connector.ts';
import type { UpstreamPool } from '../upstream/upstream-pool.ts';
import { forward, ForwardFailure } from './forward.ts';

/** How long a mirrored copy may take before it is dropped (its answer is ignored anyway). */
const MIRROR_TIMEOUT_MS = 10_000;

export interface HandlerDeps {
  readonly pool: UpstreamPool;
  readonly metrics: WaypointMetrics;
  readonly rand: Rand;
  readonly now: () => number;
  readonly accessLog: (line: string) => void;
  readonly log: (line: string) => void;
}

/** Who the requests on one connection are reported as coming from. */
export interface SourceTelemetry {
  /** The `reporter` and `source_*` labels, and `connection_security_policy`. */
  readonly labels: Pick<
    RequestLabels,
    | 'reporter'
    | 'source_workload'
    | 'source_canonical_service'
    | 'source_workload_namespace'
    | 'source_principal'
    | 'connection_security_policy'
  >;
  /** The access log's `source_principal`: the downstream peer's SPIFFE id, null for a plaintext caller. */
  readonly peerPrincipal: string | null;
}

/** A plan, and the workloads its endpoints resolve against (the same config snapshot). */
export interface Decided {
  readonly plan: RequestPlan;
  readonly workloads: ReadonlyMap<string, Workload>;
}

/** What the front that took a request knows before planning it: fixed per downstream connection. */
export interface RequestScope {
  /** For logs: the CONNECT authority, or the gateway listener. */
  readonly authority: string;
  /** `RequestFacts.port`: the Service port addressed (waypoint), or the listener port (gateway). */
  readonly port: number;
  readonly conn: ConnectionFacts;
  /** The caller carried on to the destination in the CONNECT baggage (waypoint); absent at a gateway. */
  readonly source?: ForwardedSource;
  /** The Service addressed, for telemetry until a route names one. */
  readonly service?: Service;
  readonly telemetry: SourceTelemetry;
  /** Decides one request under the config in force now. May throw; the error is answered by `replyFor`. */
  decide(facts: RequestFacts, rand: Rand): Decided;
  /** Whether a forwarded request goes upstream as HTTP/2. */
  upstreamH2(request: DownstreamRequest, plan: ForwardPlan): boolean;
}

/** What one request leaves behind for telemetry, filled in as it goes. */
interface Outcome {
  status: number;
  flags: string[];
  details: string;
  routeName: string | null;
  cluster: string | null;
  service?: Service;
  target?: EndpointTarget;
  attempts: number;
  bytesSent: number;
  grpcStatus?: string;
}

export async function handleRequest(
  deps: HandlerDeps,
  ctx: RequestScope,
  ex: DownstreamExchange,
): Promise<void> {
  const started = deps.now();
  const startTime = new Date();
  const req = ex.request;
  const facts: RequestFacts = {
    method: req.method,
    path: req.path,
    host: req.authority,
    headers: req.headers,
    port: ctx.port,
  };
  const trace = nextTraceContext(headerValue(facts, 'traceparent'));
  // The caller's, or one made here (Envoy's request-id extension): sent upstream and logged, so both sides agree.
  const requestId = headerValue(facts, 'x-request-id') ?? randomUUID();
  const out: Outcome = {
    status: 0,
    flags: [],
    details: 'via_upstream',
    routeName: null,
    cluster: null,
    attempts: 0,
    bytesSent: 0,
  };
  if (ctx.service) out.service = ctx.service;
  let requestBytes = 0;
  try {
    const { plan, workloads } = ctx.decide(facts, deps.rand);
    if (plan.kind !== 'deny' && plan.kind !== 'no-route') out.routeName = plan.routeName;
    if (plan.kind !== 'deny' && plan.kind !== 'no-route' && plan.delayMs !== undefined) {
      out.flags.push('DI');
      await sleep(plan.delayMs);
    }
    switch (plan.kind) {
      case 'deny':
        out.status = plan.status;
        out.details = 'rbac_access_denied';
        out.bytesSent = await ex.reply(plan.status, plan.body);
        break;
      case 'abort':
        out.status = plan.status;
        out.flags.push('FI');
        out.details = 'fault_filter_abort';
        out.bytesSent = await ex.reply(plan.status, 'fault filter abort');
        break;
      case 'no-route':
        out.status = 404;
        out.flags.push('NR');
        out.details = 'route_not_found';
        out.bytesSent = await ex.reply(404, '');
        break;
      case 'redirect':
        out.status = plan.status;
        out.details = 'direct_response';
        out.bytesSent = await ex.reply(plan.status, '', { location: plan.location });
        break;
      case 'forward':
        requestBytes = await forwardRequest(deps, ctx, ex, { plan, workloads }, { trace, requestId }, out);
        break;
    }
  } catch (err) {
    const reply = replyFor(err);
    out.status = reply.status;
    if (reply.flag) out.flags.push(reply.flag);
    out.details = 'local_reply';
    if (ex.responded) ex.reset();
    else out.bytesSent = await ex.reply(reply.status, reply.body);
  } finally {
    report(deps, ctx, ex, out, { started, startTime, trace, requestId, requestBytes });
  }
}

/** Forwards and relays; returns the request body bytes. Failures become local replies (or a reset, if late). */
async function forwardRequest(
  deps: HandlerDeps,
  ctx: RequestScope,
  ex: DownstreamExchange,
  decided: { plan: ForwardPlan; workloads: ReadonlyMap<string, Workload> },
  { trace, requestId }: { trace: TraceContext; requestId: string },
  out: Outcome,
): Promise<number> {
  const { plan, workloads } = decided;
  const req = ex.request;
  out.cluster = plan.cluster.id;
  if (plan.cluster.service) out.service = plan.cluster.service;
  // Kept (up to the bound) only when a retry or a mirror may need the body again.
  const keep = plan.retry !== undefined || plan.mirrors.length > 0;
  const body = new RequestBody(req.body, keep ? RETRY_BUFFER_BYTES : 0);
  const deadline = new AbortController();
  const timer =
    plan.timeoutMs !== undefined
      ? setTimeout(() => deadline.abort(new Error('upstream request timeout')), plan.timeoutMs)
      : undefined;
  const h2 = ctx.upstreamH2(req, plan);
  const headers: Record<string, string> = { traceparent: formatTraceparent(trace) };
  if (headerValue(plan.request, 'x-request-id') === undefined) headers['x-request-id'] = requestId;
  try {
    const result = await forward(
      { pool: deps.pool, workloads, rand: deps.rand, now: deps.now },
      {
        plan,
        body,
        bodyless: req.bodyless,
        headers,
        h2,
        ...(ctx.source ? { source: ctx.source } : {}),
        signal: ex.signal,
        deadline: deadline.signal,
      },
    );
    out.target = result.target;
    out.attempts = result.attempts;
    out.flags.push(...result.flags);
    let responseHeaders: Headers = result.response.headers;
    for (const m of plan.responseHeaders) responseHeaders = applyHeaderMutation(responseHeaders, m);
    out.status = result.response.status;
    // The route timeout covers the response body too (Envoy's): past it, the exchange is reset.
    const cut = () => {
      out.flags.push('UT');
      result.response.discard();
      ex.reset();
    };
    deadline.signal.addEventListener('abort', cut, { once: true });
    const relayed = await ex.relay(result.response, responseHeaders);
    deadline.signal.removeEventListener('abort', cut);
    out.bytesSent = relayed.bytes;
    const grpc = result.response.trailers()?.['grpc-status'] ?? result.response.headers['grpc-status'];
    if (typeof grpc === 'string') out.grpcStatus = grpc;
    if (relayed.error && !out.flags.includes('UT')) out.flags.push(ex.signal.aborted ? 'DC' : 'UC');
  } catch (err) {
    if (!(err instanceof ForwardFailure)) throw err;
    out.attempts = err.attempts;
    out.flags.push(...err.flags);
    if (err.target) out.target = err.target;
    throw err.error;
  } finally {
    clearTimeout(timer);
    void mirror(deps, ctx, decided, body, h2);
  }
  return body.bytes;
}

/** Fire and forget: a copy of the request to each drawn mirror, once the body is whole; answers are dropped. */
async function mirror(
  deps: HandlerDeps,
  ctx: RequestScope,
  decided: { plan: ForwardPlan; workloads: ReadonlyMap<string, Workload> },
  body: RequestBody,
  h2: boolean,
): Promise<void> {
  if (decided.plan.mirrors.length === 0) return;
  await body.done;
  // A body past the retry bound was not kept: Envoy buffers for shadows, we document the bound instead.
  if (!body.complete) return;
  for (const cluster of decided.plan.mirrors) void mirrorTo(deps, ctx, decided, cluster, body.buffered(), h2);
}

async function mirrorTo(
  deps: HandlerDeps,
  ctx: RequestScope,
  { plan, workloads }: { plan: ForwardPlan; workloads: ReadonlyMap<string, Workload> },
  cluster: ClusterPlan,
  bytes: Buffer,
  h2: boolean,
): Promise<void> {
  try {
    const copy = new RequestBody(Readable.from(bytes.length > 0 ? [bytes] : []), Infinity);
    const result = await forward(
      { pool: deps.pool, workloads, rand: deps.rand, now: deps.now },
      {
        // Envoy's shadow host: the authority with `-shadow` appended, so the mirror can tell copies apart.
        plan: {
          ...plan,
          cluster,
          request: { ...plan.request, host: `${plan.request.host}-shadow` },
          mirrors: [],
        },
        body: copy,
        bodyless: bytes.length === 0,
        headers: {},
        h2,
        ...(ctx.source ? { source: ctx.source } : {}),
        signal: new AbortController().signal,
        deadline: AbortSignal.timeout(MIRROR_TIMEOUT_MS),
      },
    );
    result.response.body.resume();
  } catch (err) {
    deps.log(`mirror to ${cluster.id} failed: ${err instanceof Error ? err.message : String(err)}`);
  }
}

function report(
  deps: HandlerDeps,
  ctx: RequestScope,
  ex: DownstreamExchange,
  out: Outcome,
  t: { started: number; startTime: Date; trace: TraceContext; requestId: string; requestBytes: number },
): void {
  const req = ex.request;
  const durationMs = Math.max(0, deps.now() - t.started);
  const dst = out.target?.workload;
  const flags = out.flags.length > 0 ? [...new Set(out.flags)].join(',') : '-';
  const destinationPrincipal = dst ? spiffeId(dst) : null;
  deps.metrics.observe({
    labels: {
      ...ctx.telemetry.labels,
      destination_workload: dst?.workloadName ?? 'unknown',
      destination_canonical_service: dst?.canonicalName ?? 'unknown',
      destination_workload_namespace: dst?.namespace ?? 'unknown',
      destination_principal: destinationPrincipal ?? 'unknown',
      destination_service: out.service?.hostname ?? 'unknown',
      destination_service_name: out.service?.name ?? 'unknown',
      destination_service_namespace: out.service?.namespace ?? 'unknown',
      request_protocol: req.grpc ? 'grpc' : 'http',
      response_code: String(out.status),
      grpc_response_status: out.grpcStatus ?? '',
      response_flags: flags,
    },
    durationMs,
    requestBytes: t.requestBytes,
    responseBytes: out.bytesSent,
  });
  deps.accessLog(
    formatAccessLog({
      start_time: t.startTime.toISOString(),
      method: req.method,
      path: req.path,
      authority: req.authority,
      protocol: req.protocol,
      response_code: out.status,
      response_flags: flags,
      response_code_details: out.details,
      duration: Math.round(durationMs),
      bytes_received: t.requestBytes,
      bytes_sent: out.bytesSent,
      upstream_host: out.target ? `${out.target.ip}:${out.target.port}` : null,
      upstream_cluster: out.cluster,
      attempts: out.attempts,
      downstream_remote_address: ctx.conn.sourceIp,
      source_principal: ctx.telemetry.peerPrincipal,
      destination_principal: destinationPrincipal,
      route_name: out.routeName,
      trace_id: t.trace.traceId,
      span_id: t.trace.spanId,
      request_id: t.requestId,
    }),
  );
}
