// Finds and ends what a crashed box of the same name left behind: processes in its netns, processes named by
// its pid files, its work dir, its pods' /etc/netns entries and its network.
import { readdir, readFile, rm, rmdir } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseHarnessEnv } from '../cluster/env.ts';
import { reapStale } from '../cluster/stale.ts';
import { reapNetwork } from '../network/index.ts';
import { run } from '../network/run.ts';
import { defaultWorkDir, planBox, type BoxPlan } from './plan.ts';

const GONE_TIMEOUT_MS = 5_000;

/** Names of the box's netns (`<box>-…`: its nodes, and anything else it or its tests made under that prefix). */
export function boxNetns(box: string, netnsList: string): string[] {
  return netnsList
    .split('\n')
    .map((line) => line.trim().split(' ')[0] ?? '')
    .filter((name) => name.startsWith(`${box}-`));
}

/** Running: not gone and not a zombie (whose parent has yet to reap it). */
async function alive(pid: number): Promise<boolean> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  return stat !== '' && stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
}

/**
 * SIGKILLs every process running inside one of the box's netns and waits until they are gone; returns how many.
 * They are the box's by construction: nothing else enters `<box>-*` namespaces.
 */
export async function killNetnsProcesses(box: string): Promise<number> {
  const namespaces = boxNetns(box, (await run(['ip', 'netns', 'list'])).stdout);
  const pids: number[] = [];
  for (const ns of namespaces) {
    const { stdout } = await run(['ip', 'netns', 'pids', ns]);
    pids.push(
      ...stdout
        .split('\n')
        .filter((l) => /^\d+$/.test(l.trim()))
        .map(Number),
    );
  }
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  const deadline = Date.now() + GONE_TIMEOUT_MS;
  for (const pid of pids) while ((await alive(pid)) && Date.now() < deadline) await sleep(50);
  return pids.length;
}

/** Where `ip netns exec` finds a netns' own resolv.conf and hosts (the kubelet writes its pods' there). */
const ETC_NETNS = '/etc/netns';

/**
 * Removes `/etc/netns/<box>-*` (a crashed kubelet's pods), then /etc/netns itself if that left it empty (the
 * kubelet made it; it removes it the same way). Returns how many entries went.
 */
export async function removeEtcNetns(box: string): Promise<number> {
  const entries = await readdir(ETC_NETNS).catch(() => [] as string[]);
  const ours = entries.filter((e) => e.startsWith(`${box}-`));
  for (const e of ours) await rm(`${ETC_NETNS}/${e}`, { recursive: true, force: true });
  if (ours.length > 0) await rmdir(ETC_NETNS).catch(() => undefined); // not empty: someone else's are there
  return ours.length;
}

export interface ReapSummary {
  /** Processes killed inside the box's netns. */
  readonly killed: number;
  /** Netns, links, rules and chains of the box's network, and /etc/netns entries, that were removed. */
  readonly removed: number;
}

/**
 * Reaps box `plan.name`: processes inside its netns (nodes and pods), then the control plane and kube-proxies
 * named by pid files in its work dir (which is wiped), then its pods' /etc/netns entries and its network. Doing
 * nothing on a clean host.
 */
export async function reapBox(plan: BoxPlan): Promise<ReapSummary> {
  const killed = await killNetnsProcesses(plan.name);
  await reapStale(plan.clusterDir);
  await reapStale(plan.workDir);
  const etc = await removeEtcNetns(plan.name);
  const { found } = await reapNetwork(plan.name);
  const removed = etc + found.netns.length + found.links.length + found.rules.length + found.chains.length;
  return { killed, removed };
}

/** Reaps box `name` given only its name (and work dir if not the default); for tests that start from a clean host. */
export async function reapLeftovers(
  name: string,
  workDir?: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<ReapSummary> {
  const { cacheDir } = parseHarnessEnv(env);
  return reapBox(planBox({ name, nodes: 1, workDir: workDir ?? defaultWorkDir(cacheDir, name) }));
}
