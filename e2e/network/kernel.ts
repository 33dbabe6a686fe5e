// Makes sure the kernel has br_netfilter (built in, loaded, or loaded now with modprobe) and says so when it cannot.
import { access } from 'node:fs/promises';
import { onPath, tryRun } from './run.ts';

/** Exists exactly when br_netfilter is in the kernel (the sysctls are per netns; new netns get them too). */
const BR_NETFILTER_SYSCTL = '/proc/sys/net/bridge/bridge-nf-call-iptables';

export interface BrNetfilterStatus {
  /** `present`: built in or loaded before; `loaded`: modprobe loaded it now; `absent`: neither. */
  readonly state: 'present' | 'loaded' | 'absent';
  /** Why it is absent, for the network's notes. */
  readonly note?: string;
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Loading the module is not undone at teardown: other bridges may rely on it by then, and unloading is refused
 * while in use anyway. (Loading it turns on bridge-nf-call-iptables for every bridge of the host: kube-proxy on a
 * real node needs that too.)
 */
export async function ensureBrNetfilter(): Promise<BrNetfilterStatus> {
  if (await exists(BR_NETFILTER_SYSCTL)) return { state: 'present' };
  if (!(await onPath('modprobe'))) {
    return {
      state: 'absent',
      note: 'br_netfilter is absent and modprobe is not installed: bridge-nf-call-iptables is not set in the node netns',
    };
  }
  const err = await tryRun(['modprobe', 'br_netfilter']);
  if (err === undefined && (await exists(BR_NETFILTER_SYSCTL))) return { state: 'loaded' };
  return {
    state: 'absent',
    note: `br_netfilter is absent (${err?.message ?? 'modprobe loaded nothing'}): bridge-nf-call-iptables is not set in the node netns`,
  };
}
