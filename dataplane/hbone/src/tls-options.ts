// TLS options of both HBONE ends (definitions only): TLS 1.3 only, ALPN h2, a client certificate always required,
// and the server checked by SPIFFE URI SAN instead of by hostname.
import type { ConnectionOptions, PeerCertificate, SecureContextOptions, TlsOptions } from 'node:tls';
import { asError } from './errors.ts';
import { matchIdentity } from './identity.ts';

export const ALPN_H2 = 'h2';

/** A workload's certificate and the roots it trusts, all PEM. */
export interface WorkloadTlsMaterial {
  /** The leaf certificate. */
  readonly cert: string;
  /** Its private key (PKCS#8 or SEC1). */
  readonly key: string;
  /** Intermediates sent after the leaf (the root may be included; it is harmless). @default [] */
  readonly chain?: readonly string[];
  /** The mesh trust bundle: every root a peer certificate may chain to (two during a rotation). */
  readonly trustBundle: readonly string[];
}

/** Pinned on every context, so no material or caller-provided options can widen them. */
export const TLS_VERSIONS = { minVersion: 'TLSv1.3', maxVersion: 'TLSv1.3' } as const;

export function secureContextOptions(material: WorkloadTlsMaterial): SecureContextOptions {
  return {
    cert: [material.cert, ...(material.chain ?? [])].join('\n'),
    key: material.key,
    ca: [...material.trustBundle],
    ...TLS_VERSIONS,
  };
}

/**
 * The client side: presents the source workload's certificate and accepts the server only if its chain reaches the
 * trust bundle and its SPIFFE id is one of `expectedIdentities`. Hostnames do not apply (we dial pod IPs), so
 * `checkServerIdentity` is replaced, not added to; no SNI is sent.
 */
export function clientTlsOptions(
  source: WorkloadTlsMaterial,
  expectedIdentities: readonly string[],
): ConnectionOptions {
  return {
    ...secureContextOptions(source),
    ALPNProtocols: [ALPN_H2],
    rejectUnauthorized: true,
    checkServerIdentity: (_host: string, cert: PeerCertificate): Error | undefined => {
      try {
        matchIdentity(cert.subjectaltname, expectedIdentities);
        return undefined;
      } catch (err) {
        return asError(err);
      }
    },
  };
}

/**
 * The server side, minus the certificate (which differs per listener): a client certificate chaining to the
 * trust bundle is required; there is no mode without one (DESIGN §8, h2spec goes through a test forwarder).
 */
export const SERVER_TLS_OPTIONS: TlsOptions = {
  ...TLS_VERSIONS,
  ALPNProtocols: [ALPN_H2],
  requestCert: true,
  rejectUnauthorized: true,
};
