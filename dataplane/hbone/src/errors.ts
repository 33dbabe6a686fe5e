// The HBONE library's one error class: every failure carries a string-literal `code`, and a CONNECT refusal its
// HTTP status, so callers branch on data instead of on message text.

export type HboneErrorCode =
  /** The peer answered the CONNECT with a status other than 200 (`status` says which: 400, 401, 503, ...). */
  | 'ERR_HBONE_CONNECT_STATUS'
  /** The peer's certificate carries no SPIFFE URI SAN, or not one of the expected identities. */
  | 'ERR_HBONE_IDENTITY'
  /** The TLS handshake failed (untrusted chain, wrong version, no client certificate, ...). */
  | 'ERR_HBONE_TLS'
  /** The TLS peer did not agree on ALPN `h2`. */
  | 'ERR_HBONE_ALPN'
  /** The TCP connection to the HBONE endpoint could not be made. */
  | 'ERR_HBONE_DIAL'
  /** Dialing plus the TLS handshake took longer than the client's connect timeout. */
  | 'ERR_HBONE_TIMEOUT'
  /** The HTTP/2 session or stream failed before the CONNECT was answered. */
  | 'ERR_HBONE_SESSION'
  /** A request names something that is not `ip:port`, or lacks what HBONE needs. */
  | 'ERR_HBONE_REQUEST'
  /** One side of a spliced connection closed before both directions had finished (a reset). */
  | 'ERR_HBONE_RESET'
  /** The client or server was closed. */
  | 'ERR_HBONE_CLOSED';

export class HboneError extends Error {
  readonly code: HboneErrorCode;
  /** The HTTP status of a refused CONNECT; set only for `ERR_HBONE_CONNECT_STATUS`. */
  readonly status: number | undefined;

  constructor(code: HboneErrorCode, message: string, options?: ErrorOptions & { status?: number }) {
    super(message, options);
    this.name = 'HboneError';
    this.code = code;
    this.status = options?.status;
  }
}

/** `err` as an Error, for `catch (err: unknown)` and stream callbacks. */
export function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}
