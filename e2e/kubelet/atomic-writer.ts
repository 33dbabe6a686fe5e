// Writes a volume payload the way the kubelet's AtomicWriter does, so readers watching `..data` see whole updates.
import { chmod, mkdir, mkdtemp, readdir, readlink, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Payload } from './volume-payload.ts';

const DATA = '..data';
const DATA_TMP = '..data_tmp';

function stamp(d: Date): string {
  const p = (n: number, w = 2): string => String(n).padStart(w, '0');
  return `..${d.getUTCFullYear()}_${p(d.getUTCMonth() + 1)}_${p(d.getUTCDate())}_${p(d.getUTCHours())}_${p(d.getUTCMinutes())}_${p(d.getUTCSeconds())}.`;
}

async function readlinkOrUndefined(path: string): Promise<string | undefined> {
  try {
    return await readlink(path);
  } catch {
    return undefined;
  }
}

/**
 * Layout (kubelet `volume/util/atomic_writer.go`):
 * 1. The files go to a fresh `..<timestamp>.<random>` directory with their modes.
 * 2. `..data` is switched to it by renaming a new symlink over it (atomic).
 * 3. Each top-level name of the payload is a symlink `name → ..data/name`; names no longer in the payload and the
 *    previous timestamped directory are removed.
 * Calling it again with a new payload (a refreshed token) is an update.
 */
export async function writeAtomic(
  targetDir: string,
  payload: Payload,
  now: Date = new Date(),
): Promise<void> {
  await mkdir(targetDir, { recursive: true, mode: 0o755 });
  const oldTs = await readlinkOrUndefined(join(targetDir, DATA));
  const tsDir = await mkdtemp(join(targetDir, stamp(now)));
  await chmod(tsDir, 0o755);
  for (const [rel, file] of payload) {
    const path = join(tsDir, rel);
    await mkdir(dirname(path), { recursive: true, mode: 0o755 });
    await writeFile(path, file.data);
    await chmod(path, file.mode); // writeFile's mode is masked by the umask
  }
  await rm(join(targetDir, DATA_TMP), { force: true });
  await symlink(basename(tsDir), join(targetDir, DATA_TMP));
  await rename(join(targetDir, DATA_TMP), join(targetDir, DATA));

  const visible = new Set([...payload.keys()].map((k) => k.split('/')[0] ?? k));
  for (const name of visible) {
    if ((await readlinkOrUndefined(join(targetDir, name))) === undefined) {
      await symlink(join(DATA, name), join(targetDir, name));
    }
  }
  for (const entry of await readdir(targetDir)) {
    if (entry.startsWith('..') || visible.has(entry)) continue;
    await rm(join(targetDir, entry), { recursive: true, force: true });
  }
  if (oldTs !== undefined && oldTs !== basename(tsDir)) {
    await rm(join(targetDir, oldTs), { recursive: true, force: true });
  }
}
