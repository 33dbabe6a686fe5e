// Captures the host's network state (netns, links, addresses, routes, iptables, netns mounts, a few sysctls) in a
// comparable form, so tests can assert that a box leaves nothing behind.
import { readFile } from 'node:fs/promises';
import { normalizeIptablesSave } from './iptables-save.ts';
import { run } from './run.ts';

/** Each section is a sorted list of normalised lines; equal snapshots mean an equal host. */
export interface HostSnapshot {
  /** `ip netns list` */
  readonly netns: readonly string[];
  /** `ip -o link` */
  readonly links: readonly string[];
  /** `ip -o addr`, address lifetimes removed */
  readonly addresses: readonly string[];
  /** `ip -4 route show table all` (main and local tables) */
  readonly routes: readonly string[];
  /** `iptables-save` of the host, comments and counters removed */
  readonly iptables: readonly string[];
  /** Mounts at or below /run/netns, from /proc/self/mountinfo: mount point, fs type, root, source */
  readonly mounts: readonly string[];
  /** Host sysctls the box must not change, as `key=value` */
  readonly sysctls: readonly string[];
}

export type SnapshotSection = keyof HostSnapshot;

export interface SnapshotDifference {
  readonly section: SnapshotSection;
  readonly added: readonly string[];
  readonly removed: readonly string[];
  /** Same lines, other order (matters for iptables rules). */
  readonly reordered: boolean;
}

/** Read from /proc/sys; a missing key (module not loaded) reads as `<absent>`. */
export const WATCHED_SYSCTLS = [
  'net.ipv4.ip_forward',
  'net.ipv4.conf.all.rp_filter',
  'net.ipv4.conf.default.rp_filter',
  'net.bridge.bridge-nf-call-iptables',
] as const;

function lines(text: string): string[] {
  return text
    .split('\n')
    .map((l) => l.trimEnd())
    .filter((l) => l !== '');
}

/**
 * Drops what changes by itself in `ip -o addr` lines: the counting-down lifetimes (DHCP, SLAAC) and the
 * `tentative` flag of an IPv6 address still in duplicate address detection (new links' fe80:: addresses).
 */
export function normalizeAddressLine(line: string): string {
  return line
    .replace(/\s*valid_lft \S+ preferred_lft \S+/, '')
    .replace(/\\\s*$/, '')
    .replace(/ tentative\b/, '')
    .trimEnd();
}

/** Drops `expires NNNsec` from route lines (PMTU and redirect exceptions age). */
export function normalizeRouteLine(line: string): string {
  return line.replace(/ expires \d+sec/, '');
}

/**
 * `/proc/self/mountinfo` lines for /run/netns and below, as `mountpoint fstype root source`: the mount ids and
 * propagation peer groups change by themselves, these do not.
 */
export function netnsMounts(mountinfo: string): string[] {
  const out: string[] = [];
  for (const line of lines(mountinfo)) {
    const [left = '', right = ''] = line.split(' - ');
    const fields = left.split(' ');
    const [root = '', mountPoint = ''] = [fields[3], fields[4]];
    const [fsType = '', source = ''] = right.split(' ');
    if (mountPoint === '/run/netns' || mountPoint.startsWith('/run/netns/')) {
      out.push(`${mountPoint} ${fsType} ${root} ${source}`);
    }
  }
  return out;
}

async function readSysctl(key: string): Promise<string> {
  const value = await readFile(`/proc/sys/${key.replaceAll('.', '/')}`, 'utf8').catch(() => '<absent>');
  return `${key}=${value.trim()}`;
}

const sorted = (xs: string[]) => [...xs].sort();

export async function snapshotHost(): Promise<HostSnapshot> {
  const [netns, links, addrs, routes, save, mountinfo, sysctls] = await Promise.all([
    run(['ip', 'netns', 'list']),
    run(['ip', '-o', 'link', 'show']),
    run(['ip', '-o', 'addr', 'show']),
    run(['ip', '-4', 'route', 'show', 'table', 'all']),
    run(['iptables-save']),
    readFile('/proc/self/mountinfo', 'utf8'),
    Promise.all(WATCHED_SYSCTLS.map(readSysctl)),
  ]);
  return {
    netns: sorted(lines(netns.stdout)),
    links: sorted(lines(links.stdout)),
    addresses: sorted(lines(addrs.stdout).map(normalizeAddressLine)),
    routes: sorted(lines(routes.stdout).map(normalizeRouteLine)),
    iptables: normalizeIptablesSave(save.stdout),
    mounts: sorted(netnsMounts(mountinfo)),
    sysctls,
  };
}

/** The sections that differ, with the lines only in `after` (added) and only in `before` (removed). */
export function diffSnapshots(before: HostSnapshot, after: HostSnapshot): SnapshotDifference[] {
  const sections = Object.keys(before) as SnapshotSection[];
  const out: SnapshotDifference[] = [];
  for (const section of sections) {
    const was = new Set(before[section]);
    const now = new Set(after[section]);
    const added = after[section].filter((l) => !was.has(l));
    const removed = before[section].filter((l) => !now.has(l));
    const reordered =
      added.length === 0 && removed.length === 0 && before[section].join('\n') !== after[section].join('\n');
    if (added.length > 0 || removed.length > 0 || reordered) out.push({ section, added, removed, reordered });
  }
  return out;
}
