// Whether a pod is in the mesh, from Istio's labels: shared by the control plane (which workloads get HBONE) and the
// node agent (which pods get the in-pod redirect), so the two can never disagree.
//
// Enrollment (the same for `istio.io/dataplane-mode` and `ambit.dev/dataplane-mode`):
//  1. hostNetwork pods are never captured.
//  2. A pod label `none` opts the pod out; a pod label `ambient` enrolls it whatever its namespace says.
//  3. Otherwise the namespace label `ambient` enrolls every pod in it.

export const DATAPLANE_MODE_LABELS = ['istio.io/dataplane-mode', 'ambit.dev/dataplane-mode'] as const;

type Labels = Readonly<Record<string, string>> | undefined;

function modeOf(labels: Labels): string | undefined {
  for (const key of DATAPLANE_MODE_LABELS) {
    const v = labels?.[key];
    if (v === 'none') return 'none';
  }
  for (const key of DATAPLANE_MODE_LABELS) {
    const v = labels?.[key];
    if (v !== undefined) return v;
  }
  return undefined;
}

/** Whether a pod is captured by the mesh. */
export function isEnrolled(pod: { labels: Labels; hostNetwork: boolean }, namespaceLabels: Labels): boolean {
  if (pod.hostNetwork) return false;
  const own = modeOf(pod.labels);
  if (own === 'none') return false;
  if (own === 'ambient') return true;
  return modeOf(namespaceLabels) === 'ambient';
}
