// Translates a Pod into a Workload record (DESIGN §4): identity, addresses, enrollment, waypoint, mTLS, policies.
import type { MtlsPolicy, Workload } from '@ambit/config';
import type { V1Pod } from '@kubernetes/client-node';
import { isEnrolled, workloadWaypoint, type WaypointBinding, type WaypointLookup } from './enrollment.ts';

/** Read-only lookups the translation needs (STYLE §1: like krt.Fetch, no client, no clock). */
export interface WorkloadContext {
  readonly trustDomain: string;
  /** Labels of a namespace, or undefined if it is not known. */
  namespaceLabels(name: string): Readonly<Record<string, string>> | undefined;
  readonly waypoints: WaypointLookup;
  /** Ids of the WorkloadSelector-scoped Authorizations that select a pod with these labels in this namespace. */
  selectingPolicies(namespace: string, labels: Readonly<Record<string, string>>): readonly string[];
  /** The pod's effective mTLS requirement. */
  mtls(namespace: string, labels: Readonly<Record<string, string>>): MtlsPolicy;
}

export type WorkloadTranslation =
  | { readonly kind: 'workload'; readonly record: Workload; readonly waypoint: WaypointBinding }
  /** Not a workload the dataplane needs: not scheduled, no IP yet, finished, or host-networked. */
  | { readonly kind: 'skip'; readonly reason: string };

/** The owner workload name: a ReplicaSet's Deployment (pod-template-hash stripped), else the owner or the pod. */
export function workloadNameOf(pod: V1Pod): string {
  const owner =
    pod.metadata?.ownerReferences?.find((o) => o.controller) ?? pod.metadata?.ownerReferences?.[0];
  const name = pod.metadata?.name ?? '';
  if (!owner) return name;
  const hash = pod.metadata?.labels?.['pod-template-hash'];
  if (owner.kind === 'ReplicaSet' && hash && owner.name.endsWith(`-${hash}`)) {
    return owner.name.slice(0, -(hash.length + 1));
  }
  return owner.name;
}

function firstLabel(labels: Readonly<Record<string, string>>, keys: readonly string[]): string | undefined {
  for (const k of keys) if (labels[k]) return labels[k];
  return undefined;
}

export function translateWorkload(pod: V1Pod, ctx: WorkloadContext): WorkloadTranslation {
  const name = pod.metadata?.name ?? '';
  const namespace = pod.metadata?.namespace ?? 'default';
  if (!pod.spec?.nodeName) return { kind: 'skip', reason: 'not scheduled' };
  if (pod.spec.hostNetwork) return { kind: 'skip', reason: 'host network' };
  const phase = pod.status?.phase;
  if (phase === 'Succeeded' || phase === 'Failed') return { kind: 'skip', reason: `phase ${phase}` };
  const addresses = (pod.status?.podIPs ?? []).map((p) => p.ip).filter((ip) => ip !== '');
  if (addresses.length === 0 && pod.status?.podIP) addresses.push(pod.status.podIP);
  if (addresses.length === 0) return { kind: 'skip', reason: 'no pod IP yet' };
  const labels = pod.metadata?.labels ?? {};
  const nsLabels = ctx.namespaceLabels(namespace);
  const enrolled = isEnrolled({ labels, hostNetwork: false }, nsLabels);
  const waypoint = enrolled
    ? workloadWaypoint(labels, { name: namespace, labels: nsLabels }, ctx.waypoints)
    : ({ kind: 'none' } as const);
  const workloadName = workloadNameOf(pod);
  const ready = pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
  const record: Workload = {
    uid: pod.metadata?.uid ?? `${namespace}/${name}`,
    name,
    namespace,
    addresses,
    node: pod.spec.nodeName,
    serviceAccount: pod.spec.serviceAccountName ?? 'default',
    trustDomain: ctx.trustDomain,
    canonicalName:
      firstLabel(labels, ['service.istio.io/canonical-name', 'app.kubernetes.io/name', 'app']) ??
      workloadName,
    canonicalRevision:
      firstLabel(labels, ['service.istio.io/canonical-revision', 'app.kubernetes.io/version', 'version']) ??
      'latest',
    workloadName,
    protocol: enrolled ? 'HBONE' : 'NONE',
    ...(waypoint.kind === 'none' ? {} : { waypoint: waypoint.waypoint }),
    mtls: ctx.mtls(namespace, labels),
    authorizationPolicies: enrolled ? ctx.selectingPolicies(namespace, labels) : [],
    ready,
    source: { group: '', kind: 'Pod', namespace, name },
  };
  return { kind: 'workload', record, waypoint };
}
