// One JSON line per request (Envoy's access log, in the field names Istio's JSON format uses where one exists).
// Fields, all present on every line (`null` when unknown):
//  - start_time: ISO 8601, when the request's headers arrived;
//  - method, path (as received, query included), authority, protocol (`HTTP/1.1` | `HTTP/2`);
//  - response_code (what the client got; 0 if it got nothing), response_flags (Envoy flags, `-` for none),
//    response_code_details (why a local reply was sent, e.g. `rbac_access_denied`, else `via_upstream`);
//  - duration (ms, headers in to last byte out), bytes_received / bytes_sent (bodies only);
//  - upstream_host (`<pod ip>:<port>` of the last try), upstream_cluster (`<ns>/<service>[|<subset>]`),
//    attempts (tries made);
//  - downstream_remote_address (the original caller's IP), source_principal / destination_principal (SPIFFE ids);
//  - route_name (`<kind>/<ns>/<name>#<index>`, `default` for the Service's default route);
//  - trace_id, span_id (the upstream hop's), request_id (the caller's `x-request-id`, or the one made and sent upstream).

export interface AccessLogEntry {
  readonly start_time: string;
  readonly method: string;
  readonly path: string;
  readonly authority: string;
  readonly protocol: string;
  readonly response_code: number;
  readonly response_flags: string;
  readonly response_code_details: string;
  readonly duration: number;
  readonly bytes_received: number;
  readonly bytes_sent: number;
  readonly upstream_host: string | null;
  readonly upstream_cluster: string | null;
  readonly attempts: number;
  readonly downstream_remote_address: string | null;
  readonly source_principal: string | null;
  readonly destination_principal: string | null;
  readonly route_name: string | null;
  readonly trace_id: string | null;
  readonly span_id: string | null;
  readonly request_id: string | null;
}

export function formatAccessLog(e: AccessLogEntry): string {
  return JSON.stringify(e);
}
