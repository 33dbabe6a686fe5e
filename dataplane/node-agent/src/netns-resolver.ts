// Finds a pod's network namespace file on the node.
//
// What the default resolver expects: the container runtime bind-mounts each pod's netns at
// `<netnsDir>/<prefix><first 12 hex digits of the pod uid, dashes removed, lowercase>`. That is how the project's
// fake kubelet names them (e2e/kubelet/sandbox-plan.ts `podNetnsName`; prefix `kpod-` by default, `<box>-p` in the
// box), so the name is a function of the uid and needs no annotation. A real runtime (containerd: `cni-<uuid>`) does
// not follow it: there the CNI plugin's CNI_NETNS (cni-plugin.ts) is the source, or another NetnsResolver.
import { existsSync } from 'node:fs';
import { join } from 'node:path';

export interface PodRef {
  readonly uid: string;
  readonly namespace: string;
  readonly name: string;
}

export interface NetnsResolver {
  /** The netns path of a running pod, or undefined when it is not (yet, or any more) there. */
  resolve(pod: PodRef): string | undefined;
}

/** `<prefix><12 hex of the uid>`, or undefined for a uid that is not a uuid. */
export function podNetnsName(prefix: string, uid: string): string | undefined {
  const hex = uid.replace(/-/g, '').toLowerCase();
  if (!/^[0-9a-f]{12,}$/.test(hex)) return undefined;
  return `${prefix}${hex.slice(0, 12)}`;
}

export function uidNetnsResolver(o: { readonly dir: string; readonly prefix: string }): NetnsResolver {
  return {
    resolve(pod) {
      const name = podNetnsName(o.prefix, pod.uid);
      if (name === undefined) return undefined;
      const path = join(o.dir, name);
      return existsSync(path) ? path : undefined;
    },
  };
}
