// HTTP telemetry with Istio's metric names and labels (DESIGN §5), reported by the waypoint (`reporter="waypoint"`,
// as Istio's ambient waypoints report): one observation per request, after its response ended.
import { Counter, Histogram, Registry } from 'prom-client';

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
  'destination_service_name',
  'destination_service_namespace',
  'request_protocol',
  'response_code',
  'grpc_response_status',
  'response_flags',
  'connection_security_policy',
] as const;

export type RequestLabels = Record<(typeof LABELS)[number], string>;

/** Envoy's default buckets for Istio's duration histogram (ms). */
const DURATION_BUCKETS_MS = [
  0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000, 1800000,
  3600000,
];
/** Istio's size buckets: 1 B to 100 MB, ×10. */
const SIZE_BUCKETS = [1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000];

/** One finished request, as telemetry sees it. */
export interface RequestObservation {
  readonly labels: RequestLabels;
  readonly durationMs: number;
  readonly requestBytes: number;
  readonly responseBytes: number;
}

export class WaypointMetrics {
  readonly registry = new Registry();
  readonly #requests: Counter<(typeof LABELS)[number]>;
  readonly #duration: Histogram<(typeof LABELS)[number]>;
  readonly #requestBytes: Histogram<(typeof LABELS)[number]>;
  readonly #responseBytes: Histogram<(typeof LABELS)[number]>;

  constructor() {
    const registers = [this.registry];
    this.#requests = new Counter({
      name: 'istio_requests_total',
      help: 'Requests handled by the waypoint.',
      labelNames: LABELS,
      registers,
    });
    this.#duration = new Histogram({
      name: 'istio_request_duration_milliseconds',
      help: 'Request duration, first byte in to last byte out.',
      labelNames: LABELS,
      buckets: DURATION_BUCKETS_MS,
      registers,
    });
    this.#requestBytes = new Histogram({
      name: 'istio_request_bytes',
      help: 'Request body sizes.',
      labelNames: LABELS,
      buckets: SIZE_BUCKETS,
      registers,
    });
    this.#responseBytes = new Histogram({
      name: 'istio_response_bytes',
      help: 'Response body sizes.',
      labelNames: LABELS,
      buckets: SIZE_BUCKETS,
      registers,
    });
  }

  observe(o: RequestObservation): void {
    this.#requests.inc(o.labels);
    this.#duration.observe(o.labels, o.durationMs);
    this.#requestBytes.observe(o.labels, o.requestBytes);
    this.#responseBytes.observe(o.labels, o.responseBytes);
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }
}
