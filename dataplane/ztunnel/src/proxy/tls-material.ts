// Certificates as node:tls wants them, one object per certificate so a listener's secure context is rebuilt only
// when the certificate changes (a rebuild parses PEM: about a millisecond).
import type { WorkloadTlsMaterial } from '@ambit/hbone';
import type { WorkloadCertificate } from '../identity/cert-manager.ts';

const cache = new WeakMap<WorkloadCertificate, WorkloadTlsMaterial>();

export function tlsMaterial(c: WorkloadCertificate): WorkloadTlsMaterial {
  let m = cache.get(c);
  if (!m) {
    const [leaf = '', ...chain] = c.chainPem;
    m = { cert: leaf, key: c.keyPem, chain, trustBundle: c.trustBundlePem };
    cache.set(c, m);
  }
  return m;
}
