// The mesh CA's public surface: roots, workload certificates, SPIFFE identities. Proxies' tests import it as
// `@ambit/operator/ca` to get certificates from the real CA instead of a fake one.
export {
  CaError,
  createRoot,
  issueServingCertificate,
  issueWorkloadCertificate,
  loadRoot,
} from './authority.ts';
export type { IssuedCertificate, PemPair, SigningCa } from './authority.ts';
export { formatSpiffeId, parseSpiffeId, principalOf, SpiffeError, type WorkloadIdentity } from './spiffe.ts';
