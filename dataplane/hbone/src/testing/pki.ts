// Test-only: workload certificates from the real mesh CA (`@ambit/operator/ca`), never a fake. Not imported by
// production code.
// `@ambit/operator/ca` first: it loads reflect-metadata and sets the WebCrypto provider that @peculiar/x509 needs.
import { createRoot, formatSpiffeId, issueWorkloadCertificate, loadRoot } from '@ambit/operator/ca';
import * as x509 from '@peculiar/x509';
import { createPrivateKey } from 'node:crypto';
import type { WorkloadTlsMaterial } from '../tls-options.ts';

const ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
const NOW = () => new Date();

export interface TestWorkload extends WorkloadTlsMaterial {
  /** `spiffe://<trust domain>/ns/<namespace>/sa/<service account>` */
  readonly identity: string;
}

export interface TestPki {
  /** The root PEM, alone in a bundle. */
  readonly trustBundle: readonly string[];
  /** A workload certificate for `ns/sa`, issued through a real CSR. */
  issue(namespace: string, serviceAccount: string): Promise<TestWorkload>;
}

async function keyAndCsr(): Promise<{ csrPem: string; keyPem: string }> {
  const keys = await globalThis.crypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify']);
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: 'O=workload',
    keys,
    signingAlgorithm: ALGORITHM,
  });
  const pkcs8 = await globalThis.crypto.subtle.exportKey('pkcs8', keys.privateKey);
  const keyPem = createPrivateKey({ key: Buffer.from(pkcs8), format: 'der', type: 'pkcs8' })
    .export({ type: 'pkcs8', format: 'pem' })
    .toString();
  return { csrPem: csr.toString('pem'), keyPem };
}

/** A fresh root for `trustDomain`; each call is a different, mutually untrusted CA. */
export async function createTestPki(trustDomain = 'cluster.local'): Promise<TestPki> {
  const root = await loadRoot(await createRoot({ trustDomain, ttlMs: 86_400_000, now: NOW() }));
  return {
    trustBundle: [root.certPem],
    issue: async (namespace, serviceAccount) => {
      const identity = { trustDomain, namespace, serviceAccount };
      const { csrPem, keyPem } = await keyAndCsr();
      const issued = await issueWorkloadCertificate(root, { csrPem, identity, ttlMs: 3_600_000, now: NOW() });
      return {
        identity: formatSpiffeId(identity),
        cert: issued.chainPem[0]!,
        key: keyPem,
        chain: issued.chainPem.slice(1),
        trustBundle: [root.certPem],
      };
    },
  };
}
