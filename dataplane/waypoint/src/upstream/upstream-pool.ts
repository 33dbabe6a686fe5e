// What the waypoint remembers per cluster (a Service or one subset of it) between requests: load-balancer cursor
// and requests in flight, outlier-detection state, and the upstream connections (an HTTP/1.1 agent and HTTP/2
// sessions). The engine decides from snapshots of this; only this module mutates it.
import type { TrafficPolicy } from '@ambit/config';
import {
  EMPTY_OUTLIER_STATE,
  ejectedAt,
  recordResult,
  type EndpointResult,
  type LbState,
  type OutlierState,
  type PoolCounters,
} from '../engine/index.ts';
import type { EndpointTarget } from './endpoint-target.ts';
import { H2Sessions } from './h2-over-hbone.ts';
import { HboneAgent } from './http1-over-hbone.ts';
import type { ForwardedSource, UpstreamConnector } from './upstream-connector.ts';

export class ClusterState {
  readonly id: string;
  policy: TrafficPolicy;
  cursor = 0;
  readonly inFlight = new Map<string, number>();
  outlier: OutlierState = EMPTY_OUTLIER_STATE;
  readonly agent: HboneAgent;
  readonly h2: H2Sessions;

  constructor(id: string, policy: TrafficPolicy, connect: UpstreamConnector) {
    this.id = id;
    this.policy = policy;
    this.agent = new HboneAgent(connect, policy.connectionPool);
    this.h2 = new H2Sessions(connect);
  }

  lbState(now: number): LbState {
    return { cursor: this.cursor, inFlight: this.inFlight, ejected: ejectedAt(this.outlier, now) };
  }

  /** Connection-pool counters for a request to `target` on behalf of `source` over `protocol`. */
  counters(target: EndpointTarget, source: ForwardedSource | undefined, h2: boolean): PoolCounters {
    if (h2) {
      // One multiplexed session per endpoint and caller: it is "idle" (takes the request) once open.
      const key = H2Sessions.key(target, source);
      return { connections: this.h2.size, idleConnections: this.h2.has(key) ? 1 : 0, pendingRequests: 0 };
    }
    return this.agent.counters(HboneAgent.nameOf(target, source));
  }

  started(uid: string): void {
    this.inFlight.set(uid, (this.inFlight.get(uid) ?? 0) + 1);
  }

  finished(uid: string): void {
    const n = (this.inFlight.get(uid) ?? 1) - 1;
    if (n <= 0) this.inFlight.delete(uid);
    else this.inFlight.set(uid, n);
  }

  record(uid: string, result: EndpointResult, pool: readonly string[], now: number): void {
    this.outlier = recordResult(this.outlier, this.policy.outlierDetection, uid, result, pool, now);
  }

  close(): void {
    this.agent.destroy();
    this.h2.close();
  }
}

export class UpstreamPool {
  readonly #connect: UpstreamConnector;
  readonly #clusters = new Map<string, ClusterState>();

  constructor(connect: UpstreamConnector) {
    this.#connect = connect;
  }

  /** The state of a cluster, created on first use; a changed policy applies to the existing connections. */
  cluster(id: string, policy: TrafficPolicy): ClusterState {
    let c = this.#clusters.get(id);
    if (!c) {
      c = new ClusterState(id, policy, this.#connect);
      this.#clusters.set(id, c);
    } else if (c.policy !== policy) {
      c.policy = policy;
      c.agent.setPool(policy.connectionPool);
    }
    return c;
  }

  /** For the admin dump and tests. */
  get(id: string): ClusterState | undefined {
    return this.#clusters.get(id);
  }

  close(): void {
    for (const c of this.#clusters.values()) c.close();
    this.#clusters.clear();
  }
}
