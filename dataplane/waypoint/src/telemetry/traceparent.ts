// W3C trace context for the upstream hop: keep the caller's trace, give the hop a new span id (the waypoint is a
// span of its own), or start a trace when the caller sent none or an unreadable one.
import { randomBytes } from 'node:crypto';

export interface TraceContext {
  /** 32 lowercase hex digits. */
  readonly traceId: string;
  /** The span id this hop sends upstream (16 hex digits). */
  readonly spanId: string;
  /** The caller's span, when it sent one. */
  readonly parentSpanId?: string;
  /** 2 hex digits (`01` sampled). */
  readonly flags: string;
}

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(?:-.*)?$/;
const ALL_ZERO = /^0+$/;

/** Random ids come from this; injected by tests that pin them. */
export type IdSource = (bytes: number) => string;

export const randomHex: IdSource = (bytes) => randomBytes(bytes).toString('hex');

/**
 * The context for the upstream request. Rules from W3C Trace Context §3.2: version `ff` and all-zero ids are
 * invalid (start a new trace); an unknown future version is read by its first four fields.
 */
export function nextTraceContext(incoming: string | undefined, ids: IdSource = randomHex): TraceContext {
  const m = incoming === undefined ? null : TRACEPARENT.exec(incoming.trim().toLowerCase());
  const [, version, traceId, parent, flags] = m ?? [];
  if (
    version === undefined ||
    traceId === undefined ||
    parent === undefined ||
    flags === undefined ||
    version === 'ff' ||
    (version === '00' && incoming !== undefined && incoming.trim().length !== 55) ||
    ALL_ZERO.test(traceId) ||
    ALL_ZERO.test(parent)
  ) {
    return { traceId: ids(16), spanId: ids(8), flags: '01' };
  }
  return { traceId, spanId: ids(8), parentSpanId: parent, flags };
}

export function formatTraceparent(t: TraceContext): string {
  return `00-${t.traceId}-${t.spanId}-${t.flags}`;
}
