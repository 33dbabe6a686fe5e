// Makes missing mount points for container binds with the least host footprint, and removes them when unused.
import { existsSync, realpathSync, statSync } from 'node:fs';
import { mkdir, readdir, readFile, readlink, rm, rmdir, writeFile } from 'node:fs/promises';
import { dirname, join, posix } from 'node:path';

export interface MountTarget {
  readonly target: string;
  readonly kind: 'dir' | 'file';
}

export interface MountpointLease {
  /** Fresh, empty host directories the launcher must cover with a tmpfs before binding below them. */
  readonly tmpfsDirs: readonly string[];
  /** Drops this container's claim; a path no container claims any more is removed unless some namespace mounts it. */
  release(): Promise<void>;
}

/** Paths this process created on the host, with how many live containers use each. */
const created = new Map<string, { count: number; kind: 'dir' | 'file' }>();

function isUnder(path: string, dir: string): boolean {
  return path === dir || path.startsWith(dir === '/' ? '/' : `${dir}/`);
}

function deepestExisting(path: string): string {
  let p = path;
  while (!existsSync(p)) p = dirname(p);
  return p;
}

function claim(path: string, kind: 'dir' | 'file', lease: string[]): void {
  const entry = created.get(path);
  if (entry === undefined) created.set(path, { count: 1, kind });
  else entry.count++;
  lease.push(path);
}

/**
 * For each target, in launcher order (invariants, in order of preference):
 * 1. A target inside an earlier target is made by the launcher inside that mount: nothing on the host.
 * 2. A target that exists on the host is bound over directly (the bind is private to the container).
 * 3. Otherwise its deepest existing ancestor A is found. If A is a directory this module made, the launcher covers A
 *    with a tmpfs and makes the rest inside it. Else one directory M = A/<next component> is made on the host
 *    (empty, so covering it hides nothing) and covered the same way; a missing file whose parent exists is made as
 *    an empty file instead. Only M (or that file) ever appears on the host, and only while a container claims it.
 */
export async function prepareMountpoints(targets: readonly MountTarget[]): Promise<MountpointLease> {
  const tmpfs = new Set<string>();
  const leased: string[] = [];
  const earlier: string[] = [];
  for (const t of targets) {
    const target = posix.normalize(t.target);
    const insideEarlier = earlier.some((e) => isUnder(target, e));
    earlier.push(target);
    if (insideEarlier) continue;
    if (existsSync(target)) {
      const real = realpathSync(target);
      if (created.has(real)) claim(real, created.get(real)?.kind ?? t.kind, leased);
      continue;
    }
    const ancestor = deepestExisting(target);
    const real = realpathSync(ancestor);
    if (created.get(real)?.kind === 'dir') {
      claim(real, 'dir', leased);
      tmpfs.add(real);
      continue;
    }
    if (!statSync(real).isDirectory()) continue; // the bind will fail with the kernel's own message
    const rest = target.slice(ancestor === '/' ? 1 : ancestor.length + 1);
    const next = rest.split('/')[0] ?? rest;
    const fresh = join(real, next);
    if (next === rest) {
      // The target itself is the only missing component: make it, no tmpfs needed.
      if (t.kind === 'file') await writeFile(fresh, '', { flag: 'wx', mode: 0o644 }).catch(ignoreExists);
      else await mkdir(fresh, { mode: 0o755 }).catch(ignoreExists);
      claim(fresh, t.kind, leased);
    } else {
      await mkdir(fresh, { mode: 0o755 }).catch(ignoreExists);
      claim(fresh, 'dir', leased);
      tmpfs.add(fresh);
    }
  }
  let released = false;
  return {
    tmpfsDirs: [...tmpfs],
    release: async () => {
      if (released) return;
      released = true;
      // Deepest first, so a file made inside a directory we made goes before it.
      for (const path of [...leased].sort((a, b) => b.length - a.length)) await releaseOne(path);
    },
  };
}

function ignoreExists(err: unknown): void {
  if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
}

async function releaseOne(path: string): Promise<void> {
  const entry = created.get(path);
  if (entry === undefined) return;
  if (--entry.count > 0) return;
  created.delete(path);
  if (await mountedAnywhere(path)) return; // someone else's namespace still has it: leave it rather than detach it
  try {
    if (entry.kind === 'dir') await rmdir(path);
    else await rm(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT' && code !== 'ENOTEMPTY') throw err;
  }
}

/**
 * Whether any mount namespace on the machine has a mount at or below `path`. Removing such a directory would detach
 * those mounts (Linux ≥ 3.18), breaking a container this process does not know about.
 */
export async function mountedAnywhere(path: string): Promise<boolean> {
  const seen = new Set<string>();
  for (const pid of await readdir('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const ns = await readlink(`/proc/${pid}/ns/mnt`);
      if (seen.has(ns)) continue;
      seen.add(ns);
      const info = await readFile(`/proc/${pid}/mountinfo`, 'utf8');
      for (const line of info.split('\n')) {
        const mountPoint = unescapeMountinfo(line.split(' ')[4] ?? '');
        if (mountPoint !== '' && isUnder(mountPoint, path)) return true;
      }
    } catch {
      // the process exited meanwhile
    }
  }
  return false;
}

/** mountinfo escapes space, tab, newline and backslash as octal. */
function unescapeMountinfo(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}
