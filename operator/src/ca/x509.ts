// Loads @peculiar/x509 the one safe way: after its Reflect metadata polyfill, with Node's WebCrypto as provider.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(globalThis.crypto);

export { x509 };

/**
 * A positive 128-bit serial in hex. The first byte stays in 0x01..0x7f: a high top bit would make the DER integer
 * negative, and a zero first byte is a non-minimal encoding that Go's x509 parser (and so ztunnel peers and the
 * apiserver) rejects, about one certificate in 256 otherwise.
 */
export function randomSerial(): string {
  const bytes = globalThis.crypto.getRandomValues(new Uint8Array(16));
  bytes[0] = (bytes[0]! % 0x7f) + 1;
  return Buffer.from(bytes).toString('hex');
}
