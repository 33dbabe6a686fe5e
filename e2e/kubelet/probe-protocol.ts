// Messages between the kubelet and its probe agent in the node netns: one JSON object per line each way.

export interface HttpProbeRequest {
  readonly id: number;
  readonly kind: 'http';
  readonly scheme: 'http' | 'https';
  readonly host: string;
  readonly port: number;
  /** Path and query, starting with `/`. */
  readonly path: string;
  /** In order; a `Host` header sets the request's host. */
  readonly headers: readonly (readonly [string, string])[];
  readonly timeoutMs: number;
  /** The socket is bound to this local address. */
  readonly sourceAddress: string;
}

export interface TcpProbeRequest {
  readonly id: number;
  readonly kind: 'tcp';
  readonly host: string;
  readonly port: number;
  readonly timeoutMs: number;
  readonly sourceAddress: string;
}

export type ProbeRequest = HttpProbeRequest | TcpProbeRequest;

export interface ProbeAnswer {
  readonly id: number;
  readonly ok: boolean;
  /** e.g. `HTTP 200`, `connect ECONNREFUSED`, `timeout after 1000 ms`. */
  readonly detail: string;
  readonly status?: number;
  /** The address the probe actually came from (checks the source binding). */
  readonly localAddress?: string;
}

/** The id of the answer the agent prints once it reads requests. */
export const AGENT_READY_ID = 0;

/** kubelet's probe User-Agent for the box's Kubernetes version. */
export const PROBE_USER_AGENT = 'kube-probe/1.34';
/** The kubelet reads at most this much of a probe response body. */
export const MAX_PROBE_BODY = 10 * 1024;
