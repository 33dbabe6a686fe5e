// The first `ip netns add` after boot bind-mounts /run/netns on itself (so netns files can be shared mounts) and
// leaves it; this notices when the box is that first one, and unmounts it again when the box is gone.
//
// Why it is safe: `umount` of a mount that still has mounts below it (another netns, made by anyone in the
// meantime) fails with EBUSY, so the box never unmounts what someone else uses. The directory stays.
import { readFile } from 'node:fs/promises';
import type { CommandError } from './errors.ts';
import { tryRun } from './run.ts';

export const RUN_NETNS = '/run/netns';

/** Mount points at or below /run/netns in `/proc/self/mountinfo` (field 5). */
export function netnsMountPoints(mountinfo: string): string[] {
  return mountinfo
    .split('\n')
    .map((line) => line.split(' ')[4] ?? '')
    .filter((point) => point === RUN_NETNS || point.startsWith(`${RUN_NETNS}/`));
}

async function mountPoints(): Promise<string[]> {
  return netnsMountPoints(await readFile('/proc/self/mountinfo', 'utf8'));
}

/** True if /run/netns is not a mount point yet, i.e. the box's first `ip netns add` will make it one. */
export async function willMountRunNetns(): Promise<boolean> {
  return !(await mountPoints()).includes(RUN_NETNS);
}

/** Unmounts /run/netns if nothing is mounted below it; the failure, if any, is returned, not thrown. */
export async function unmountRunNetns(): Promise<CommandError | undefined> {
  const points = await mountPoints();
  if (!points.includes(RUN_NETNS) || points.some((p) => p !== RUN_NETNS)) return undefined;
  return tryRun(['umount', RUN_NETNS]);
}
