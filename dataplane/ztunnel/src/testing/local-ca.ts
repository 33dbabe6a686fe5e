// Test-only: a CertificateSource backed by the real mesh CA in-process (no gRPC, no token), so proxy tests get real
// certificates the way the control plane would issue them.
import {
  createRoot,
  issueWorkloadCertificate,
  loadRoot,
  parseSpiffeId,
  type SigningCa,
} from '@ambit/operator/ca';
import type { CertificateSource, WorkloadCertificate } from '../identity/cert-manager.ts';
import { createKeyAndCsr } from '../identity/csr.ts';

export interface LocalCa extends CertificateSource {
  readonly rootPem: string;
  /** How many certificates it issued. */
  issued(): number;
}

export async function localCa(trustDomain = 'cluster.local', ttlMs = 3_600_000): Promise<LocalCa> {
  const root = await createRoot({ trustDomain, ttlMs: 10 * ttlMs, now: new Date() });
  const signing: SigningCa = await loadRoot(root);
  let count = 0;
  return {
    rootPem: root.certPem,
    issued: () => count,
    async fetch(identity: string): Promise<WorkloadCertificate> {
      const { keyPem, csrPem } = await createKeyAndCsr(identity);
      const now = new Date();
      const cert = await issueWorkloadCertificate(signing, {
        csrPem,
        identity: parseSpiffeId(identity),
        ttlMs,
        now,
      });
      count++;
      return {
        identity,
        chainPem: cert.chainPem,
        keyPem,
        trustBundlePem: [root.certPem],
        notBefore: new Date(now.getTime() - 60_000),
        notAfter: cert.notAfter,
      };
    },
  };
}
