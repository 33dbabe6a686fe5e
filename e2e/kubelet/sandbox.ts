// Creates and removes a pod sandbox: its netns, its CNI attachment on the node, its resolv.conf and hosts file.
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, rm, rmdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { cniAdd, cniDel, type CniRuntime } from './cni.ts';
import {
  DEFAULT_CNI_PATH,
  POD_IFNAME,
  podConflist,
  podIPFromResult,
  type CniConflist,
  type CniNodeView,
  type CniPluginConf,
  type CniResult,
} from './cni-config.ts';
import { KubeletError } from './errors.ts';
import {
  DEFAULT_NETNS_PREFIX,
  hostsFileText,
  podDns,
  podHostname,
  podNetnsName,
  resolvConfText,
  type DnsPolicy,
  type PodDnsConfig,
} from './sandbox-plan.ts';
import { run } from './tools.ts';
import type { ContainerMount, PodRef } from './types.ts';

/** Where `ip netns` keeps its names. */
export const NETNS_DIR = '/var/run/netns';
/** Where `ip netns exec` finds per-netns /etc files to bind. */
export const ETC_NETNS_DIR = '/etc/netns';

export interface SandboxPod extends PodRef {
  readonly hostname?: string;
  readonly subdomain?: string;
  readonly hostAliases?: readonly { readonly ip?: string; readonly hostnames?: readonly string[] }[];
  /** @default 'ClusterFirst' */
  readonly dnsPolicy?: DnsPolicy;
  readonly dnsConfig?: PodDnsConfig;
}

export interface CreateSandboxOptions {
  /** The node's netns, where the CNI plugins run and the bridge lives. */
  readonly nodeNetns: string;
  readonly pod: SandboxPod;
  /** The node's pod CIDR, e.g. `10.244.50.0/24`. */
  readonly podCidr: string;
  /** The pod's own directory; the sandbox keeps its files in `<workDir>/sandbox`. */
  readonly workDir: string;
  /** host-local's state, one per node (shared by its pods so no address is handed out twice). */
  readonly ipamDataDir: string;
  /** No netns of its own: the pod runs in the node's. @default false */
  readonly hostNetwork?: boolean;
  /** The node's address: a hostNetwork pod's IP. Required with hostNetwork. */
  readonly hostIP?: string;
  /** Cluster DNS. @default CLUSTER_DNS (10.96.0.10) */
  readonly dnsServer?: string;
  /** The node's own search domains, appended after the cluster ones (kubelet's host search). @default [] */
  readonly searchDomains?: readonly string[];
  /** @default 'cluster.local' */
  readonly clusterDomain?: string;
  /** Prefix of the pod's netns name; tests use their own so leftovers are recognisable. @default 'kpod-' */
  readonly netnsPrefix?: string;
  /** Chained after the bridge (Ambit's node-agent plugin). @default [] */
  readonly extraPlugins?: readonly CniPluginConf[];
  /** Replaces the whole conflist built from podCidr/ipamDataDir/extraPlugins. */
  readonly conflist?: CniConflist;
  /** @default DEFAULT_CNI_PATH */
  readonly cniPath?: readonly string[];
  /** The node's own directories as plugins see them. @default none */
  readonly cniNodeView?: CniNodeView;
}

export interface Sandbox {
  /** 64 hex digits: CNI_CONTAINERID and K8S_POD_INFRA_CONTAINER_ID. */
  readonly id: string;
  readonly pod: PodRef;
  readonly nodeNetns: string;
  /** The pod's netns name, or null for a hostNetwork pod (it runs in nodeNetns). */
  readonly netns: string | null;
  readonly hostNetwork: boolean;
  readonly podIP: string;
  readonly workDir: string;
  readonly cniPath: readonly string[];
  /** What DEL's plugins see of the node, as ADD's did. */
  readonly cniNodeView?: CniNodeView;
  readonly resolvConfPath: string;
  readonly hostsPath: string;
  /**
   * Mounts each container needs for /etc/hosts and /etc/resolv.conf. Empty for pods with a netns: `ip netns exec`
   * binds `/etc/netns/<netns>/*` itself (so `ip netns exec <netns> cmd` from a shell sees them too).
   */
  readonly etcMounts: readonly ContainerMount[];
  /** The final CNI result; undefined for hostNetwork pods. */
  readonly cniResult: CniResult | undefined;
}

function sandboxDir(workDir: string): string {
  return join(workDir, 'sandbox');
}

function cachePath(workDir: string): string {
  return join(sandboxDir(workDir), 'cni-result.json');
}

function netnsPath(name: string): string {
  return join(NETNS_DIR, name);
}

async function writeEtcFiles(dir: string, hosts: string, resolv: string, attempts = 3): Promise<void> {
  try {
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'hosts'), hosts, { mode: 0o644 });
    await writeFile(join(dir, 'resolv.conf'), resolv, { mode: 0o644 });
  } catch (err) {
    // Another sandbox's removal may rmdir an empty /etc/netns between our mkdir and write: make it again.
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || attempts <= 1) throw err;
    await writeEtcFiles(dir, hosts, resolv, attempts - 1);
  }
}

/** Removes /etc/netns/<name>, then /etc/netns itself if that left it empty (it did not exist before the box). */
async function removeEtcNetns(name: string): Promise<void> {
  await rm(join(ETC_NETNS_DIR, name), { recursive: true, force: true });
  try {
    await rmdir(ETC_NETNS_DIR);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'ENOTEMPTY' && code !== 'ENOENT' && code !== 'EEXIST') throw err;
  }
}

/**
 * Creates the sandbox. On failure everything it made so far is removed before the error is thrown.
 * Invariants once it resolves:
 * 1. `/var/run/netns/<netns>` exists and its `eth0` holds `podIP`, with a default route via the node bridge.
 * 2. `/etc/netns/<netns>/{resolv.conf,hosts}` exist.
 * 3. `<workDir>/sandbox/cni-result.json` holds what DEL needs, even after a restart of the caller.
 */
export async function createSandbox(o: CreateSandboxOptions): Promise<Sandbox> {
  const hostNetwork = o.hostNetwork ?? false;
  const dir = sandboxDir(o.workDir);
  const cniPath = o.cniPath ?? DEFAULT_CNI_PATH;
  const id = randomBytes(32).toString('hex');
  const pod: PodRef = { namespace: o.pod.namespace, name: o.pod.name, uid: o.pod.uid };
  const resolv = resolvConfText(
    podDns({
      namespace: o.pod.namespace,
      hostNetwork,
      ...(o.pod.dnsPolicy === undefined ? {} : { dnsPolicy: o.pod.dnsPolicy }),
      ...(o.pod.dnsConfig === undefined ? {} : { dnsConfig: o.pod.dnsConfig }),
      ...(o.dnsServer === undefined ? {} : { clusterDns: o.dnsServer }),
      ...(o.clusterDomain === undefined ? {} : { clusterDomain: o.clusterDomain }),
      node: { searches: o.searchDomains ?? [] },
    }),
  );
  const hostsFor = (ip: string): string =>
    hostsFileText({
      ips: [ip],
      hostname: podHostname(o.pod.name, o.pod.hostname),
      namespace: o.pod.namespace,
      ...(o.pod.subdomain === undefined ? {} : { subdomain: o.pod.subdomain }),
      ...(o.clusterDomain === undefined ? {} : { clusterDomain: o.clusterDomain }),
      ...(o.pod.hostAliases === undefined ? {} : { hostAliases: o.pod.hostAliases }),
    });

  if (hostNetwork) {
    if (o.hostIP === undefined) {
      throw new KubeletError(
        'ERR_SANDBOX_INVALID',
        `hostNetwork pod ${pod.namespace}/${pod.name} needs hostIP`,
      );
    }
    await writeEtcFiles(dir, hostsFor(o.hostIP), resolv);
    const hostsPath = join(dir, 'hosts');
    const resolvConfPath = join(dir, 'resolv.conf');
    return {
      id,
      pod,
      nodeNetns: o.nodeNetns,
      netns: null,
      hostNetwork,
      podIP: o.hostIP,
      workDir: o.workDir,
      cniPath,
      resolvConfPath,
      hostsPath,
      etcMounts: [
        { hostPath: hostsPath, mountPath: '/etc/hosts', readOnly: false },
        { hostPath: resolvConfPath, mountPath: '/etc/resolv.conf', readOnly: false },
      ],
      cniResult: undefined,
    };
  }

  const netns = podNetnsName(o.netnsPrefix ?? DEFAULT_NETNS_PREFIX, o.pod.uid);
  if (existsSync(netnsPath(netns))) {
    throw new KubeletError('ERR_SANDBOX_EXISTS', `netns ${netns} of pod ${pod.namespace}/${pod.name} exists`);
  }
  const rt: CniRuntime = {
    nodeNetns: o.nodeNetns,
    cniPath,
    ...(o.cniNodeView === undefined ? {} : { nodeView: o.cniNodeView }),
  };
  const conflist =
    o.conflist ??
    podConflist({
      podCidr: o.podCidr,
      ipamDataDir: o.ipamDataDir,
      ...(o.extraPlugins === undefined ? {} : { extraPlugins: o.extraPlugins }),
    });
  await mkdir(dir, { recursive: true });
  await run('ip', ['netns', 'add', netns]);
  try {
    const cniResult = await cniAdd(
      rt,
      { conflist, containerId: id, netnsPath: netnsPath(netns), ifName: POD_IFNAME, pod },
      cachePath(o.workDir),
    );
    const podIP = podIPFromResult(cniResult, POD_IFNAME);
    const etcDir = join(ETC_NETNS_DIR, netns);
    await writeEtcFiles(etcDir, hostsFor(podIP), resolv);
    return {
      id,
      pod,
      nodeNetns: o.nodeNetns,
      netns,
      hostNetwork,
      podIP,
      workDir: o.workDir,
      cniPath,
      ...(o.cniNodeView === undefined ? {} : { cniNodeView: o.cniNodeView }),
      resolvConfPath: join(etcDir, 'resolv.conf'),
      hostsPath: join(etcDir, 'hosts'),
      etcMounts: [],
      cniResult,
    };
  } catch (err) {
    // Best effort: the ADD error is the one worth reporting, and the caller has no sandbox to retry a DEL with, so
    // the cache goes too (a DEL that failed here may leave an address allocated in the node's IPAM dir).
    await teardown(rt, netns, o.workDir).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}

async function teardown(rt: CniRuntime, netns: string, workDir: string): Promise<void> {
  let first: Error | undefined;
  // With the node netns gone, so is everything CNI made in it; its IPAM state lives in the node's dir.
  if (existsSync(netnsPath(rt.nodeNetns))) {
    try {
      await cniDel(rt, cachePath(workDir));
    } catch (err) {
      first = err instanceof Error ? err : new Error(String(err));
    }
  }
  if (existsSync(netnsPath(netns))) await run('ip', ['netns', 'delete', netns]);
  await removeEtcNetns(netns);
  if (first !== undefined) throw first;
  await rm(sandboxDir(workDir), { recursive: true, force: true });
}

/**
 * Removes the sandbox: CNI DEL with the cached result (in the node netns), the netns, `/etc/netns/<netns>` and the
 * sandbox's files. Idempotent; stop the pod's containers first, or they keep the netns alive unnamed.
 */
export async function removeSandbox(s: Sandbox): Promise<void> {
  if (s.netns === null) {
    await rm(sandboxDir(s.workDir), { recursive: true, force: true });
    return;
  }
  await teardown(
    {
      nodeNetns: s.nodeNetns,
      cniPath: s.cniPath,
      ...(s.cniNodeView === undefined ? {} : { nodeView: s.cniNodeView }),
    },
    s.netns,
    s.workDir,
  );
}
