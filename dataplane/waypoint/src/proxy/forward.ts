// Carries out a ForwardPlan: pick an endpoint, admit, send, judge the outcome, retry elsewhere, give up at the
// deadline. Every judgement is an engine call (pickEndpoint, admit, shouldRetry, nextEndpointPreference,
// retryBackoffMs, recordResult); this module only keeps time and moves bytes.
//
// Invariants:
//  1. At most `1 + retry.attempts` tries; a retry is made only when the body can be replayed (RequestBody bound)
//     and the route deadline has not passed.
//  2. Every try's outcome is recorded against its endpoint for outlier detection, exactly once.
//  3. A try that lost (retried, timed out) is torn down before the next one starts.
import { setTimeout as sleep } from 'node:timers/promises';
import type { TryOutcome } from '../engine/index.ts';
import {
  admit,
  nextEndpointPreference,
  pickEndpoint,
  retryBackoffMs,
  shouldRetry,
  type Rand,
  type ResponseFlag,
} from '../engine/index.ts';
import { WaypointError } from '../errors.ts';
import type { ForwardPlan } from '../plan/request-plan.ts';
import { endpointTarget, type EndpointTarget } from '../upstream/endpoint-target.ts';
import type { RequestBody } from '../upstream/request-body.ts';
import type { ClusterState, UpstreamPool } from '../upstream/upstream-pool.ts';
import type { ForwardedSource } from '../upstream/upstream-connector.ts';
import { sendH2, sendHttp1, type UpstreamResponse } from '../upstream/upstream-request.ts';
import type { Workload } from '@ambit/config';

export interface ForwardContext {
  readonly pool: UpstreamPool;
  readonly workloads: ReadonlyMap<string, Workload>;
  readonly rand: Rand;
  now(): number;
}

export interface ForwardOptions {
  readonly plan: ForwardPlan;
  readonly body: RequestBody;
  readonly bodyless: boolean;
  /** Extra headers for every try (traceparent, x-request-id). */
  readonly headers: Readonly<Record<string, string>>;
  readonly h2: boolean;
  readonly source?: ForwardedSource;
  /** The caller went away: stop. */
  readonly signal: AbortSignal;
  /** Aborted at the route deadline (owned by the caller, which also cuts the response body there). */
  readonly deadline: AbortSignal;
}

export interface ForwardResult {
  readonly response: UpstreamResponse;
  readonly target: EndpointTarget;
  readonly cluster: ClusterState;
  readonly attempts: number;
  readonly flags: readonly ResponseFlag[];
}

/** A failed forward: the error to answer, and what was learned on the way (for the access log). */
export class ForwardFailure extends Error {
  readonly error: unknown;
  readonly attempts: number;
  readonly flags: readonly ResponseFlag[];
  readonly target: EndpointTarget | undefined;
  constructor(error: unknown, attempts: number, flags: readonly ResponseFlag[], target?: EndpointTarget) {
    super(error instanceof Error ? error.message : String(error), { cause: error });
    this.error = error;
    this.attempts = attempts;
    this.flags = flags;
    this.target = target;
  }
}

function grpcStatusOf(r: UpstreamResponse): number | undefined {
  const v = r.headers['grpc-status'];
  return typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : undefined;
}

function outcomeOf(err: unknown): TryOutcome {
  if (err instanceof WaypointError && err.code === 'ERR_WAYPOINT_UPSTREAM_CONNECT')
    return { connectFailure: true };
  return { reset: true };
}

/** One try: admitted, counted in flight, bounded by the per-try timeout; outlier result recorded. */
async function oneTry(
  ctx: ForwardContext,
  o: ForwardOptions,
  cluster: ClusterState,
  target: EndpointTarget,
  pool: readonly string[],
): Promise<{ response?: UpstreamResponse; outcome: TryOutcome; error?: unknown }> {
  const { plan } = o;
  const perTry = plan.retry?.perTryTimeoutMs;
  const signals = [o.signal, o.deadline, ...(perTry !== undefined ? [AbortSignal.timeout(perTry)] : [])];
  const signal = AbortSignal.any(signals);
  const uid = target.workload.uid;
  cluster.started(uid);
  try {
    const request = {
      method: plan.request.method,
      path: plan.request.path,
      authority: plan.request.host,
      headers: { ...plan.request.headers, ...o.headers },
      body: o.body.open(),
      bodyless: o.bodyless,
      target,
      ...(o.source ? { source: o.source } : {}),
      signal,
    };
    const response = o.h2 ? await sendH2(cluster.h2, request) : await sendHttp1(cluster.agent, request);
    const outcome: TryOutcome = { status: response.status, ...grpcOutcome(response) };
    cluster.record(uid, { status: response.status }, pool, ctx.now());
    return { response, outcome };
  } catch (err) {
    const timedOut = o.deadline.aborted || (!o.signal.aborted && signal.aborted);
    const error =
      timedOut && !(err instanceof WaypointError && err.code === 'ERR_WAYPOINT_UPSTREAM_CONNECT')
        ? new WaypointError('ERR_WAYPOINT_UPSTREAM_TIMEOUT', 'upstream request timeout', { cause: err })
        : err;
    const outcome = outcomeOf(err);
    cluster.record(uid, outcome.connectFailure ? { connectFailure: true } : { reset: true }, pool, ctx.now());
    return { outcome, error };
  } finally {
    cluster.finished(uid);
  }
}

function grpcOutcome(r: UpstreamResponse): { grpcStatus?: number } {
  const g = grpcStatusOf(r);
  return g === undefined ? {} : { grpcStatus: g };
}

export async function forward(ctx: ForwardContext, o: ForwardOptions): Promise<ForwardResult> {
  const { plan } = o;
  const { endpoints, trafficPolicy } = plan.cluster.target;
  const cluster = ctx.pool.cluster(plan.cluster.id, trafficPolicy);
  const pool = endpoints.map((e) => e.workloadUid);
  const tried: string[] = [];
  const flags: ResponseFlag[] = [];
  let last: EndpointTarget | undefined;
  for (let attempt = 1; ; attempt++) {
    const preference = tried.length > 0 ? nextEndpointPreference(tried) : undefined;
    const pick = pickEndpoint(endpoints, cluster.policy, cluster.lbState(ctx.now()), ctx.rand, preference);
    if (!pick) {
      throw new ForwardFailure(
        new WaypointError('ERR_WAYPOINT_NO_HEALTHY_UPSTREAM', `no healthy endpoint in ${plan.cluster.id}`),
        attempt - 1,
        flags,
        last,
      );
    }
    cluster.cursor = pick.cursor;
    let target: EndpointTarget;
    try {
      target = endpointTarget(
        ctx.workloads,
        pick.endpoint,
        plan.cluster.backend.port,
        plan.cluster.viaWaypoint,
      );
    } catch (err) {
      throw new ForwardFailure(err, attempt - 1, flags, last);
    }
    last = target;
    const admission = admit(cluster.policy.connectionPool, cluster.counters(target, o.source, o.h2));
    if (!admission.ok) {
      throw new ForwardFailure(
        new WaypointError('ERR_WAYPOINT_OVERFLOW', admission.reason),
        attempt - 1,
        flags,
        target,
      );
    }
    const result = await oneTry(ctx, o, cluster, target, pool);
    tried.push(target.workload.uid);
    const decision = shouldRetry(plan.retry, attempt, result.outcome);
    const canRetry = decision.retry && o.body.replayable && !o.deadline.aborted && !o.signal.aborted;
    if (!canRetry) {
      if (decision.retry === false && decision.reason === 'retries-exhausted') flags.push('URX');
      if (result.response) return { response: result.response, target, cluster, attempts: attempt, flags };
      throw new ForwardFailure(result.error, attempt, flags, target);
    }
    result.response?.discard();
    const wait = retryBackoffMs(attempt, ctx.rand);
    if (wait > 0) {
      try {
        await sleep(wait, undefined, { signal: AbortSignal.any([o.signal, o.deadline]) });
      } catch {
        throw new ForwardFailure(
          new WaypointError('ERR_WAYPOINT_UPSTREAM_TIMEOUT', 'upstream request timeout'),
          attempt,
          flags,
          target,
        );
      }
    }
  }
}
