// Finds a pod's network namespace file on the node.
//
// What the default resolver expects: the container runtime bind-mounts each pod's netns at
// `<netnsDir>/<prefix><first 12 hex digits of the pod uid, dashes removed, lowercase>`. That is how the project's
// fake kubelet names them (e2e/kubelet/sandbox-plan.ts `podNetnsName`; prefix `kpod-` by default, `<box>-p` in the
// box), so the name is a function of the uid and needs no annotation. A real runtime (containerd: `cni-<uuid>`) does
// not follow it: there the CNI plugin's CNI_NETNS (cni-plugin.ts) is the source at pod creation, and after an agent
// restart `procNetnsResolver` finds the netns by the pod's IP through the host's /proc, as istio-cni does.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

export interface PodRef {
  readonly uid: string;
  readonly namespace: string;
  readonly name: string;
  /** The pod's IPs (status.podIPs), for resolvers that match by address. */
  readonly ips?: readonly string[];
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

/** The local IPv4 addresses in a `/proc/<pid>/net/fib_trie` (the `/32 host LOCAL` entries), loopback excluded. */
export function localAddresses(fibTrie: string): string[] {
  const out = new Set<string>();
  let last: string | undefined;
  for (const line of fibTrie.split('\n')) {
    const leaf = /\|--\s+(\d+\.\d+\.\d+\.\d+)/.exec(line);
    if (leaf) last = leaf[1];
    else if (last !== undefined && /\/32 host LOCAL/.test(line) && !last.startsWith('127.')) out.add(last);
  }
  return [...out];
}

const inodeOf = (path: string): string | undefined => {
  try {
    const st = statSync(path);
    return `${st.dev}:${st.ino}`;
  } catch {
    return undefined;
  }
};

/**
 * Finds a pod's netns file by its IP: the files in `netnsDir` and the processes in `procDir` that share a network
 * namespace have the same inode, and a process's `net/fib_trie` lists its namespace's local addresses. Nothing is
 * kept between calls: an inode can be reused by a new namespace, and an address by a new pod, so a cache could hand
 * one pod another's namespace. The answer is the netns file, never a /proc path (a pid can be reused).
 */
export function procNetnsResolver(o: { readonly netnsDir: string; readonly procDir: string }): NetnsResolver {
  const list = (dir: string): string[] => {
    try {
      return readdirSync(dir);
    } catch {
      return [];
    }
  };
  return {
    resolve(pod) {
      const wanted = new Set(pod.ips ?? []);
      if (wanted.size === 0) return undefined;
      const files = new Map<string, string>();
      for (const name of list(o.netnsDir)) {
        const path = join(o.netnsDir, name);
        const inode = inodeOf(path);
        if (inode !== undefined) files.set(inode, path);
      }
      const seen = new Set<string>();
      for (const pid of list(o.procDir)) {
        if (!/^\d+$/.test(pid)) continue;
        const inode = inodeOf(join(o.procDir, pid, 'ns', 'net'));
        if (inode === undefined || !files.has(inode) || seen.has(inode)) continue;
        seen.add(inode);
        let addresses: string[];
        try {
          addresses = localAddresses(readFileSync(join(o.procDir, pid, 'net', 'fib_trie'), 'utf8'));
        } catch {
          continue; // the process ended meanwhile
        }
        if (addresses.some((ip) => wanted.has(ip))) return files.get(inode);
      }
      return undefined;
    },
  };
}

/** The first resolver that knows. */
export function firstResolver(...resolvers: readonly NetnsResolver[]): NetnsResolver {
  return {
    resolve(pod) {
      for (const r of resolvers) {
        const path = r.resolve(pod);
        if (path !== undefined) return path;
      }
      return undefined;
    },
  };
}
