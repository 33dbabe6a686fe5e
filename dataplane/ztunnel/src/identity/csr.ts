// A fresh key and a certificate request for one SPIFFE identity. The private key never leaves the ztunnel: only
// the CSR goes to the CA, which signs the URI SAN and nothing else.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';

const ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

export interface KeyAndCsr {
  /** PKCS#8 PEM, for node:tls. */
  readonly keyPem: string;
  readonly csrPem: string;
}

export async function createKeyAndCsr(spiffeId: string): Promise<KeyAndCsr> {
  const keys = await globalThis.crypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify']);
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    keys,
    signingAlgorithm: ALGORITHM,
    extensions: [new x509.SubjectAlternativeNameExtension([{ type: 'url', value: spiffeId }])],
  });
  const pkcs8 = await globalThis.crypto.subtle.exportKey('pkcs8', keys.privateKey);
  const keyPem = x509.PemConverter.encode(pkcs8, 'PRIVATE KEY');
  return { keyPem, csrPem: csr.toString('pem') };
}
