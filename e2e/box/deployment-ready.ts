// What "the Deployment is Available" means for the box, and a one-line account of why it is not yet (no I/O).

/** The fields of a Deployment the box reads. */
export interface DeploymentJson {
  readonly metadata: { readonly name: string; readonly namespace?: string; readonly generation?: number };
  readonly spec?: { readonly replicas?: number };
  readonly status?: {
    readonly observedGeneration?: number;
    readonly replicas?: number;
    readonly readyReplicas?: number;
    readonly availableReplicas?: number;
    readonly updatedReplicas?: number;
    readonly conditions?: readonly {
      readonly type: string;
      readonly status: string;
      readonly reason?: string;
      readonly message?: string;
    }[];
  };
}

/**
 * True when `kubectl wait --for=condition=Available` would return and the rollout is done:
 * 1. the controller has seen the current spec (observedGeneration ≥ generation);
 * 2. the Available condition is True;
 * 3. every desired replica is updated and available.
 */
export function deploymentAvailable(d: DeploymentJson): boolean {
  const s = d.status;
  const want = d.spec?.replicas ?? 1;
  return (
    (s?.observedGeneration ?? 0) >= (d.metadata.generation ?? 1) &&
    s?.conditions?.some((c) => c.type === 'Available' && c.status === 'True') === true &&
    (s.updatedReplicas ?? 0) >= want &&
    (s.availableReplicas ?? 0) >= want
  );
}

/** `coredns: 0/1 ready, 0 available (Available=False MinimumReplicasUnavailable: …)`, for progress and errors. */
export function describeDeployment(d: DeploymentJson | undefined, name: string): string {
  if (d === undefined) return `${name}: not found`;
  const s = d.status;
  const available = s?.conditions?.find((c) => c.type === 'Available');
  const condition =
    available === undefined
      ? 'no Available condition yet'
      : `Available=${available.status}${available.reason ? ` ${available.reason}` : ''}`;
  return (
    `${name}: ${s?.readyReplicas ?? 0}/${d.spec?.replicas ?? 1} ready, ` +
    `${s?.availableReplicas ?? 0} available (${condition})`
  );
}
