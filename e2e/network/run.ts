// Runs one command with execFile (no shell) and turns a failure into a CommandError carrying its argv and stderr.
import { execFile } from 'node:child_process';
import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { CommandError } from './errors.ts';

export interface RunResult {
  readonly stdout: string;
  readonly stderr: string;
}

export interface RunOptions {
  /** @default 'ERR_NETWORK_COMMAND' */
  readonly code?: 'ERR_NETWORK_COMMAND' | 'ERR_NETWORK_EXEC';
  /** @default 30_000 */
  readonly timeoutMs?: number;
}

/** Enough for iptables-save on a host with many rules. */
const MAX_BUFFER = 64 * 1024 * 1024;

/** Runs `argv` with the C locale (stable messages) and resolves with its output, or rejects with CommandError. */
export function run(argv: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  const [file, ...args] = argv;
  if (file === undefined) return Promise.reject(new TypeError('run() needs a command'));
  return new Promise((resolve, reject) => {
    execFile(
      file,
      args,
      {
        encoding: 'utf8',
        maxBuffer: MAX_BUFFER,
        timeout: options.timeoutMs ?? 30_000,
        env: { ...process.env, LC_ALL: 'C' },
      },
      (err, stdout, stderr) => {
        if (err === null) {
          resolve({ stdout, stderr });
          return;
        }
        const exitCode = typeof err.code === 'number' ? err.code : null;
        const said = stderr !== '' ? stderr : err.message;
        reject(new CommandError(options.code ?? 'ERR_NETWORK_COMMAND', argv, exitCode, said, { cause: err }));
      },
    );
  });
}

/** Runs `argv` and reports failure as a value; for teardown, where "already gone" is expected. */
export async function tryRun(argv: readonly string[]): Promise<CommandError | undefined> {
  try {
    await run(argv);
    return undefined;
  } catch (err) {
    if (err instanceof CommandError) return err;
    throw err;
  }
}

/** True if `name` is an executable file in one of PATH's directories. */
export async function onPath(name: string): Promise<boolean> {
  for (const dir of (process.env.PATH ?? '').split(':').filter((d) => d !== '')) {
    try {
      await access(`${dir}/${name}`, constants.X_OK);
      return true;
    } catch {
      // not in this one
    }
  }
  return false;
}
