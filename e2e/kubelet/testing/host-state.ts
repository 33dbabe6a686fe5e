// Test helper: what the fake runtime may leave on the host (netns, /etc/netns, mounts, links, processes), and a sweep.
import { existsSync } from 'node:fs';
import { readdir, readFile, rm } from 'node:fs/promises';
import { run } from '../tools.ts';

export interface HostState {
  /** Named netns starting with the prefix. */
  readonly netns: readonly string[];
  /** Entries of /etc/netns, or null when the directory does not exist. */
  readonly etcNetns: readonly string[] | null;
  /** Mount points of this process's mount namespace. */
  readonly mountPoints: readonly string[];
  /** Link names in the host netns. */
  readonly hostLinks: readonly string[];
}

export async function netnsNames(): Promise<string[]> {
  const out = await run('ip', ['netns', 'list']);
  return out
    .split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter((n) => n !== '');
}

export async function hostState(prefix: string): Promise<HostState> {
  const links = await run('ip', ['-o', 'link', 'show']);
  const info = await readFile('/proc/self/mountinfo', 'utf8');
  return {
    netns: (await netnsNames()).filter((n) => n.startsWith(prefix)).sort(),
    etcNetns: existsSync('/etc/netns') ? (await readdir('/etc/netns')).sort() : null,
    mountPoints: info
      .split('\n')
      .map((l) => l.split(' ')[4] ?? '')
      .filter((m) => m !== '')
      .sort(),
    hostLinks: links
      .split('\n')
      .map((l) => l.split(':')[1]?.trim().split('@')[0] ?? '')
      .filter((n) => n !== '')
      .sort(),
  };
}

/** Pids (other than ours) whose command line contains any of the needles. */
export async function processesMentioning(needles: readonly string[]): Promise<string[]> {
  const found: string[] = [];
  for (const pid of await readdir('/proc')) {
    if (!/^\d+$/.test(pid) || Number(pid) === process.pid) continue;
    try {
      const cmd = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).replace(/\0/g, ' ');
      if (needles.some((n) => cmd.includes(n))) found.push(`${pid}: ${cmd.slice(0, 200)}`);
    } catch {
      // exited meanwhile
    }
  }
  return found;
}

/**
 * Removes what a crashed earlier run with this prefix left: processes inside its netns, the netns and their
 * /etc/netns entries. Only names starting with `prefix` are touched.
 */
export async function sweepPrefix(prefix: string): Promise<void> {
  if (!/^akt-[a-z0-9-]+$/.test(prefix)) throw new Error(`refusing to sweep prefix ${prefix}`);
  for (const name of (await netnsNames()).filter((n) => n.startsWith(prefix))) {
    const pids = (await run('ip', ['netns', 'pids', name])).split('\n').filter((p) => /^\d+$/.test(p));
    for (const pid of pids) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        // gone already
      }
    }
    await run('ip', ['netns', 'delete', name]);
  }
  if (existsSync('/etc/netns')) {
    for (const entry of await readdir('/etc/netns')) {
      if (entry.startsWith(prefix)) await rm(`/etc/netns/${entry}`, { recursive: true, force: true });
    }
  }
}
