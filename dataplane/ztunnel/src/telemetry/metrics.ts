// TCP telemetry with Istio's metric names and labels (DESIGN §5), so existing dashboards work: one set of counters
// per connection, reported by the destination ztunnel for inbound and the source ztunnel for outbound. Bytes are
// counted as upstream ztunnel counts them, whichever the reporter: `received` is the request direction (caller →
// target), `sent` the response direction.
import { Counter, Registry } from 'prom-client';
import type { Workload } from '@ambit/config';
import type { ForwardedSource } from '../plan/inbound.ts';
import { principalOf } from '../state/index-state.ts';

const LABELS = [
  'reporter',
  'source_workload',
  'source_canonical_service',
  'source_workload_namespace',
  'source_principal',
  'destination_workload',
  'destination_canonical_service',
  'destination_workload_namespace',
  'destination_principal',
  'destination_service',
  'request_protocol',
  'connection_security_policy',
] as const;

type Labels = Record<(typeof LABELS)[number], string>;

/** What a connection's labels are made of. */
export interface ConnectionTelemetry {
  readonly reporter: 'source' | 'destination';
  /** The peer's workload record, when the config has it. */
  readonly source?: Workload;
  /**
   * The caller a trusted waypoint forwarded (plan/inbound.ts `forwardedSource`): when present, the `source_*` labels
   * are its, not the peer's. A forwarded field that was not sent is `unknown`, never filled in from the peer.
   */
  readonly forwardedSource?: ForwardedSource;
  readonly destination?: Workload;
  /** Host name of the Service addressed, when one was. */
  readonly destinationService?: string;
  /** mTLS carried the bytes (HBONE), or not (passthrough, same-node, plaintext inbound). */
  readonly mutualTls: boolean;
}

type SourceLabels = Pick<
  Labels,
  'source_workload' | 'source_canonical_service' | 'source_workload_namespace' | 'source_principal'
>;

function sourceLabels(t: ConnectionTelemetry): SourceLabels {
  const f = t.forwardedSource;
  if (f) {
    return {
      source_workload: f.workload ?? 'unknown',
      source_canonical_service: f.canonicalService ?? 'unknown',
      source_workload_namespace: f.namespace,
      source_principal: f.identity,
    };
  }
  const s = t.source;
  return {
    source_workload: s?.workloadName ?? 'unknown',
    source_canonical_service: s?.canonicalName ?? 'unknown',
    source_workload_namespace: s?.namespace ?? 'unknown',
    source_principal: s ? `spiffe://${principalOf(s)}` : 'unknown',
  };
}

export function connectionLabels(t: ConnectionTelemetry): Labels {
  const d = t.destination;
  return {
    reporter: t.reporter,
    ...sourceLabels(t),
    destination_workload: d?.workloadName ?? 'unknown',
    destination_canonical_service: d?.canonicalName ?? 'unknown',
    destination_workload_namespace: d?.namespace ?? 'unknown',
    destination_principal: d ? `spiffe://${principalOf(d)}` : 'unknown',
    destination_service: t.destinationService ?? 'unknown',
    request_protocol: 'tcp',
    connection_security_policy: t.mutualTls ? 'mutual_tls' : 'unknown',
  };
}

/** Bytes a connection carried each way, as both transports measure them. */
export interface Carried {
  /** From the caller towards the target (the request direction). */
  readonly toTarget: number;
  /** From the target back to the caller. */
  readonly fromTarget: number;
}

/** Counts for one open connection; `close` once. */
export interface ConnectionCounters {
  sent(bytes: number): void;
  received(bytes: number): void;
  close(): void;
  /** The connection ended having carried this: `received` the request bytes, `sent` the response's, `close`. */
  end(carried: Carried): void;
}

export class ZtunnelMetrics {
  readonly registry = new Registry();
  readonly #opened: Counter<(typeof LABELS)[number]>;
  readonly #closed: Counter<(typeof LABELS)[number]>;
  readonly #sent: Counter<(typeof LABELS)[number]>;
  readonly #received: Counter<(typeof LABELS)[number]>;

  constructor() {
    const counter = (name: string, help: string) =>
      new Counter({ name, help, labelNames: LABELS, registers: [this.registry] });
    this.#opened = counter('istio_tcp_connections_opened_total', 'TCP connections opened.');
    this.#closed = counter('istio_tcp_connections_closed_total', 'TCP connections closed.');
    this.#sent = counter('istio_tcp_sent_bytes_total', 'Bytes sent during the response of a TCP connection.');
    this.#received = counter(
      'istio_tcp_received_bytes_total',
      'Bytes received during the request of a TCP connection.',
    );
  }

  open(t: ConnectionTelemetry): ConnectionCounters {
    const labels = connectionLabels(t);
    this.#opened.inc(labels);
    let closed = false;
    const counters: ConnectionCounters = {
      sent: (n) => this.#sent.inc(labels, n),
      received: (n) => this.#received.inc(labels, n),
      close: () => {
        if (closed) return;
        closed = true;
        this.#closed.inc(labels);
      },
      end: ({ toTarget, fromTarget }) => {
        counters.received(toTarget);
        counters.sent(fromTarget);
        counters.close();
      },
    };
    return counters;
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }
}
