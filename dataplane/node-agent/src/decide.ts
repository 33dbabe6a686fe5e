// The agent's decisions, pure: whether a pod should be captured, and the steps from what is in place to that.
import { isEnrolled } from '@ambit/config';
import type { PodNetns } from './handover.ts';

/** The facts about a pod that the decision needs (from the API object or, before it arrives, from CNI). */
export interface PodFacts {
  readonly uid: string;
  readonly namespace: string;
  readonly name: string;
  readonly labels: Readonly<Record<string, string>> | undefined;
  readonly hostNetwork: boolean;
  /** `status.phase`; a Succeeded or Failed pod has no sandbox any more. */
  readonly phase: string | undefined;
  readonly ips: readonly string[];
}

/**
 * The pod as the ztunnel should see it, or undefined when it must not be captured. Captured iff
 *  1. the pod exists and is not terminal (a terminating pod stays captured until it is gone: its last requests
 *     still go through the mesh);
 *  2. isEnrolled (labels of pod and namespace; never hostNetwork);
 *  3. it has an IPv4 address;
 *  4. its netns is known.
 */
export function desiredCapture(
  pod: PodFacts | undefined,
  namespaceLabels: Readonly<Record<string, string>> | undefined,
  netns: string | undefined,
): Omit<PodNetns, 'netnsInode'> | undefined {
  if (pod === undefined) return undefined;
  if (pod.phase === 'Succeeded' || pod.phase === 'Failed') return undefined;
  if (!isEnrolled({ labels: pod.labels, hostNetwork: pod.hostNetwork }, namespaceLabels)) return undefined;
  const ips = pod.ips.filter((ip) => /^\d+\.\d+\.\d+\.\d+$/.test(ip));
  if (ips.length === 0 || netns === undefined) return undefined;
  return { uid: pod.uid, namespace: pod.namespace, name: pod.name, netns, ips };
}

/** What the agent did for a pod key, as it remembers it. */
export interface Captured {
  readonly pod: PodNetns;
  /** The ztunnel NACKed the last add: send it again. */
  readonly rejected: boolean;
}

export type Step =
  /** Install the rules (idempotent) and, with `handover`, send `add`. */
  | { readonly kind: 'capture'; readonly pod: Omit<PodNetns, 'netnsInode'>; readonly handover: boolean }
  /** Remove the rules, then send `del`. */
  | { readonly kind: 'release'; readonly pod: PodNetns }
  /** Remove rules a previous agent may have left in a pod that is not captured (first sight after start). */
  | { readonly kind: 'sweep'; readonly netns: string };

/**
 * Steps from `have` to `want`:
 *  1. nothing wanted, nothing held: a sweep of the pod's netns on first sight, else nothing;
 *  2. wanted, not held: capture (rules, then add);
 *  3. held, not wanted: release (rules off, then del);
 *  4. held for another uid or netns (pod recreated under the same name): release the old, capture the new;
 *  5. held and wanted alike: re-apply the rules (a no-op unless someone removed them), re-send add only when the
 *     ips changed or the ztunnel NACKed it.
 */
export function planPod(
  want: Omit<PodNetns, 'netnsInode'> | undefined,
  have: Captured | undefined,
  firstSight: { readonly netns: string | undefined } | undefined,
): Step[] {
  if (want === undefined) {
    if (have !== undefined) return [{ kind: 'release', pod: have.pod }];
    return firstSight?.netns === undefined ? [] : [{ kind: 'sweep', netns: firstSight.netns }];
  }
  if (have === undefined) return [{ kind: 'capture', pod: want, handover: true }];
  if (have.pod.uid !== want.uid || have.pod.netns !== want.netns) {
    return [
      { kind: 'release', pod: have.pod },
      { kind: 'capture', pod: want, handover: true },
    ];
  }
  const ipsChanged = have.pod.ips.join(',') !== want.ips.join(',');
  return [{ kind: 'capture', pod: want, handover: ipsChanged || have.rejected }];
}
