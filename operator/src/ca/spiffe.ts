// SPIFFE identities of workloads: spiffe://<trust-domain>/ns/<namespace>/sa/<service-account>.

export interface WorkloadIdentity {
  readonly trustDomain: string;
  readonly namespace: string;
  readonly serviceAccount: string;
}

export class SpiffeError extends Error {
  readonly code = 'ERR_SPIFFE_ID';
}

export function formatSpiffeId(id: WorkloadIdentity): string {
  return `spiffe://${id.trustDomain}/ns/${id.namespace}/sa/${id.serviceAccount}`;
}

const PATTERN =
  /^spiffe:\/\/([a-z0-9._-]+)\/ns\/([a-z0-9]([-a-z0-9]*[a-z0-9])?)\/sa\/([a-z0-9]([-.a-z0-9]*[a-z0-9])?)$/;

/** Parses a workload SPIFFE id; anything else (other paths, upper case, query, fragment) is refused. */
export function parseSpiffeId(uri: string): WorkloadIdentity {
  const m = PATTERN.exec(uri);
  if (!m) throw new SpiffeError(`not a workload SPIFFE id: ${JSON.stringify(uri)}`);
  return { trustDomain: m[1]!, namespace: m[2]!, serviceAccount: m[4]! };
}

/** Istio's principal form of an identity (no scheme), as AuthorizationPolicy writes it. */
export function principalOf(id: WorkloadIdentity): string {
  return `${id.trustDomain}/ns/${id.namespace}/sa/${id.serviceAccount}`;
}
