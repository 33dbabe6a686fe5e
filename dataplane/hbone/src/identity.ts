// Peer identities on HBONE: the SPIFFE URI SAN of a workload certificate, and the check that it is one the config
// expects. Pure functions over the certificate; no I/O.
import type { X509Certificate } from 'node:crypto';
import { HboneError } from './errors.ts';

export interface SubjectAltName {
  /** As Node prints it: `URI`, `DNS`, `IP Address`, `email`, ... */
  readonly type: string;
  readonly value: string;
}

/**
 * Parses Node's `subjectAltName` text (`URI:spiffe://..., DNS:a.b`). Node quotes a value as a JSON string when it
 * holds a comma, quote or control character (so a crafted SAN cannot inject a second entry); this reads both forms.
 * Throws on text it cannot read, which callers treat as "no identity".
 */
export function parseSubjectAltName(text: string | undefined): SubjectAltName[] {
  const names: SubjectAltName[] = [];
  let i = 0;
  while (text !== undefined && i < text.length) {
    const colon = text.indexOf(':', i);
    if (colon < 0) throw new Error(`unreadable subjectAltName entry at ${i}`);
    const type = text.slice(i, colon);
    let end = colon + 1;
    let value: string;
    if (text[end] === '"') {
      let close = end + 1;
      while (close < text.length && text[close] !== '"') close += text[close] === '\\' ? 2 : 1;
      value = JSON.parse(text.slice(end, close + 1)) as string;
      end = close + 1;
    } else {
      const comma = text.indexOf(', ', end);
      end = comma < 0 ? text.length : comma;
      value = text.slice(colon + 1, end);
    }
    names.push({ type, value });
    if (end < text.length && !text.startsWith(', ', end))
      throw new Error(`unreadable subjectAltName at ${end}`);
    i = end + 2;
  }
  return names;
}

/** The SPIFFE ids (`spiffe://...` URI SANs) in a `subjectAltName` text. */
export function spiffeIdsOf(subjectAltName: string | undefined): string[] {
  let names: SubjectAltName[];
  try {
    names = parseSubjectAltName(subjectAltName);
  } catch (err) {
    throw new HboneError('ERR_HBONE_IDENTITY', 'peer certificate has an unreadable subjectAltName', {
      cause: err,
    });
  }
  return names.filter((n) => n.type === 'URI' && n.value.startsWith('spiffe://')).map((n) => n.value);
}

/**
 * The one SPIFFE id a workload certificate names. The mesh CA issues exactly one; a certificate with none or
 * several is not a workload identity and is refused.
 */
export function identityOf(subjectAltName: string | undefined): string {
  const ids = spiffeIdsOf(subjectAltName);
  if (ids.length !== 1) {
    throw new HboneError(
      'ERR_HBONE_IDENTITY',
      ids.length === 0
        ? 'peer certificate has no SPIFFE URI SAN'
        : `peer certificate names ${ids.length} SPIFFE ids (${ids.join(', ')}); exactly one expected`,
    );
  }
  return ids[0]!;
}

/** The SPIFFE id of a peer certificate (`tls.TLSSocket.getPeerX509Certificate()`). */
export function peerIdentity(cert: X509Certificate | undefined): string {
  if (cert === undefined) throw new HboneError('ERR_HBONE_IDENTITY', 'peer presented no certificate');
  return identityOf(cert.subjectAltName);
}

/**
 * Checks a `subjectAltName` against the identities the config says the peer runs as and returns the one that
 * matched. An empty `expected` matches nothing: the caller must know who it is talking to (fails closed).
 */
export function matchIdentity(subjectAltName: string | undefined, expected: readonly string[]): string {
  const actual = identityOf(subjectAltName);
  if (!expected.includes(actual)) {
    throw new HboneError(
      'ERR_HBONE_IDENTITY',
      `peer identity ${actual} is not one of the expected [${expected.join(', ')}]`,
    );
  }
  return actual;
}

/** `matchIdentity` for a certificate object; returns the matched SPIFFE id or throws `ERR_HBONE_IDENTITY`. */
export function verifyPeerIdentity(cert: X509Certificate | undefined, expected: readonly string[]): string {
  if (cert === undefined) throw new HboneError('ERR_HBONE_IDENTITY', 'peer presented no certificate');
  return matchIdentity(cert.subjectAltName, expected);
}
