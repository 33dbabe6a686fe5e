// Runs one control-plane binary in its own process group with its output in a log file, and stops it.
import { spawn } from 'node:child_process';
import { closeSync, openSync, writeSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';

export interface LaunchSpec {
  /** Short component name for messages, e.g. `etcd`. */
  readonly name: string;
  readonly bin: string;
  readonly args: readonly string[];
  /** stdout and stderr are appended here; a header line marks each start. */
  readonly logPath: string;
}

export interface ExitInfo {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** How long stop() waits after SIGTERM before SIGKILL. */
export const DEFAULT_STOP_GRACE_MS = 5_000;

/**
 * A child that leads its own process group (`detached`), so signalling `-pid` also reaches anything it spawned,
 * and a Ctrl-C in the terminal reaches only us: we decide when the children go.
 */
export class ManagedProcess {
  readonly name: string;
  readonly pid: number;
  readonly logPath: string;
  readonly exited: Promise<ExitInfo>;
  #exit: ExitInfo | undefined;

  constructor(name: string, pid: number, logPath: string, exited: Promise<ExitInfo>) {
    this.name = name;
    this.pid = pid;
    this.logPath = logPath;
    this.exited = exited.then((info) => (this.#exit = info));
  }

  get exitInfo(): ExitInfo | undefined {
    return this.#exit;
  }

  get running(): boolean {
    return this.#exit === undefined;
  }

  /** Sends `signal` to the whole group; a group that is already gone is not an error. */
  signalGroup(signal: NodeJS.Signals): void {
    try {
      process.kill(-this.pid, signal);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
    }
  }

  /** SIGTERM, then SIGKILL after `graceMs`; resolves once the process has been reaped. */
  async stop(graceMs = DEFAULT_STOP_GRACE_MS): Promise<ExitInfo> {
    if (this.running) {
      this.signalGroup('SIGTERM');
      const timer = sleep(graceMs, 'timeout' as const);
      if ((await Promise.race([this.exited, timer])) === 'timeout') this.signalGroup('SIGKILL');
    }
    const info = await this.exited;
    this.signalGroup('SIGKILL'); // stragglers left in the group, if any
    return info;
  }
}

/** Spawns `spec.bin`; resolves once the process exists, rejects if it could not be started (e.g. ENOENT). */
export function launch(spec: LaunchSpec): Promise<ManagedProcess> {
  const fd = openSync(spec.logPath, 'a');
  try {
    writeSync(fd, `=== ${new Date().toISOString()} ${spec.bin} ${spec.args.join(' ')}\n`);
    const child = spawn(spec.bin, spec.args, { detached: true, stdio: ['ignore', fd, fd] });
    // Children must not keep a test runner alive; owners stop them explicitly (and exit hooks kill them).
    child.unref();
    const exited = new Promise<ExitInfo>((resolve) =>
      child.once('exit', (code, signal) => resolve({ code, signal })),
    );
    return new Promise((resolve, reject) => {
      child.once('error', (err) =>
        reject(new Error(`cannot start ${spec.name} (${spec.bin}): ${err.message}`, { cause: err })),
      );
      child.once('spawn', () =>
        resolve(new ManagedProcess(spec.name, child.pid ?? -1, spec.logPath, exited)),
      );
    });
  } finally {
    closeSync(fd); // the child holds its own copy
  }
}

/** The last `lines` lines of a log file, or a note that it could not be read. */
export async function tailLog(path: string, lines = 40): Promise<string> {
  try {
    const text = await readFile(path, 'utf8');
    return text.trimEnd().split('\n').slice(-lines).join('\n');
  } catch (err) {
    return `(cannot read ${path}: ${(err as Error).message})`;
  }
}
