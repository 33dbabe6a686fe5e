// The key under which the client pool shares one TLS + HTTP/2 session between CONNECT streams (DESIGN §7).

export interface PoolKeyParts {
  /** SPIFFE id of the certificate the client presents. */
  readonly sourceIdentity: string;
  /** Identities the server may present; order does not matter. */
  readonly destinationIdentities: readonly string[];
  /** Source IP the TCP connection is bound to (differs per pod when dialing from pod netns). */
  readonly sourceIp?: string;
  /**
   * Where the session is dialed, `ip:port`. Istio keys on the IP alone because the port is always 15008; we keep the
   * port so that two HBONE servers on one IP (tests, benchmarks) never share a session. Strictly finer, never wider.
   */
  readonly proxy: string;
}

/**
 * Two requests share a session iff all four parts are equal. Sharing across source identities would present
 * the wrong certificate; across destination identities would skip a SAN check; across source IPs would make
 * traffic leave from the wrong pod.
 */
export function poolKey(parts: PoolKeyParts): string {
  return JSON.stringify([
    parts.sourceIdentity,
    [...parts.destinationIdentities].sort(),
    parts.sourceIp ?? '',
    parts.proxy,
  ]);
}
