// Test helper: host snapshot differences that a box could have caused, ignoring other tests' netns made meanwhile.
import { diffSnapshots, type HostSnapshot, type SnapshotDifference } from '../../network/index.ts';

/** The netns name of a `netns` line (`name` or `name (id: 3)`) or of a `mounts` line (`/run/netns/name …`). */
function netnsOf(section: string, line: string): string | undefined {
  if (section === 'netns') return line.split(' ')[0];
  if (section === 'mounts') return /^\/run\/netns\/(\S+)/.exec(line)?.[1];
  return undefined;
}

/**
 * `diffSnapshots`, minus netns (and their /run/netns mounts) whose names do not start with `<box>-`: the box only
 * ever makes those, and other suites on the same machine (the fake kubelet's) create and remove their own netns
 * while a box test runs. Every other section is compared in full.
 */
export function boxDifferences(box: string, before: HostSnapshot, after: HostSnapshot): SnapshotDifference[] {
  const ours = (section: string, line: string): boolean => {
    const netns = netnsOf(section, line);
    return netns === undefined || netns.startsWith(`${box}-`);
  };
  return diffSnapshots(before, after)
    .map((d) => ({
      ...d,
      added: d.added.filter((l) => ours(d.section, l)),
      removed: d.removed.filter((l) => ours(d.section, l)),
    }))
    .filter((d) => d.added.length > 0 || d.removed.length > 0 || d.reordered);
}
