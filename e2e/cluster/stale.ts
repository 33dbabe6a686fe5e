// Cleans up after a previous run in a fixed work dir whose owner died without stopping its processes.
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export function pidFile(workDir: string, component: string): string {
  return join(workDir, `${component}.pid`);
}

export async function writePidFile(workDir: string, component: string, pid: number): Promise<void> {
  await writeFile(pidFile(workDir, component), `${pid}\n`);
}

/** Running: not gone and not a zombie (an orphan waits for pid 1 to reap it, which may take seconds). */
async function alive(pid: number): Promise<boolean> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  return stat !== '' && stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
}

/** True if `pid` runs a command line mentioning `workDir`, i.e. is one of ours and not a reused pid. */
async function ownedBy(pid: number, workDir: string): Promise<boolean> {
  const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
  return cmdline.includes(workDir);
}

/** SIGKILLs the process groups named by `*.pid` files in `workDir` that still belong to it, then removes the dir. */
export async function reapStale(workDir: string): Promise<void> {
  const names = await readdir(workDir).catch(() => [] as string[]);
  for (const name of names.filter((n) => n.endsWith('.pid'))) {
    const pid = Number.parseInt(await readFile(join(workDir, name), 'utf8'), 10);
    if (!Number.isInteger(pid) || pid <= 1 || !(await ownedBy(pid, workDir))) continue;
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // already gone
    }
    for (let i = 0; i < 50 && (await alive(pid)); i++) await sleep(100);
  }
  await rm(workDir, { recursive: true, force: true });
}
