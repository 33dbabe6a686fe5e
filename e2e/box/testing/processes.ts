// Test helper: facts about processes from /proc (alive, resident memory, command lines naming a path).
import { readdir, readFile } from 'node:fs/promises';

/** Running: not gone and not a zombie. */
export async function alive(pid: number): Promise<boolean> {
  if (pid <= 0) throw new Error(`not a process id: ${pid}`);
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  return stat !== '' && stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
}

/** Resident set size in MiB (VmRSS), or NaN if the process is gone. */
export async function rssMib(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  const kb = /^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1];
  return kb === undefined ? Number.NaN : Math.round(Number(kb) / 102.4) / 10;
}

/** `pid: command line` of every running process whose command line contains `text`. */
export async function processesMentioning(text: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    const cmdline = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
    if (cmdline.includes(text) && (await alive(Number(entry))))
      out.push(`${entry}: ${cmdline.replaceAll('\0', ' ')}`);
  }
  return out;
}
