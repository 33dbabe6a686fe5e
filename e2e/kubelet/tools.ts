// Finds the system tools the fake runtime drives (ip, unshare, nsenter, mount, sh) and runs them with a deadline.
import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { KubeletError } from './errors.ts';

export type ToolName = 'ip' | 'unshare' | 'nsenter' | 'mount' | 'sh' | 'mkdir';

/** Where Debian keeps them; PATH is searched too, but a container's PATH must never decide which `mount` we run. */
const SEARCH_DIRS = ['/usr/sbin', '/usr/bin', '/sbin', '/bin'];

const resolved = new Map<ToolName, string>();

/** The absolute path of a tool, looked up once per process. */
export function tool(name: ToolName): string {
  const cached = resolved.get(name);
  if (cached !== undefined) return cached;
  const dirs = [...SEARCH_DIRS, ...(process.env.PATH ?? '').split(':').filter((d) => d !== '')];
  for (const dir of dirs) {
    const candidate = `${dir}/${name}`;
    try {
      accessSync(candidate, constants.X_OK);
      resolved.set(name, candidate);
      return candidate;
    } catch {
      // try the next directory
    }
  }
  throw new KubeletError('ERR_KUBELET_TOOL', `cannot find ${name} in ${dirs.join(':')}`);
}

export interface RunOptions {
  /** Written to stdin, which is then closed. */
  readonly input?: string;
  /** The whole environment of the child. @default process.env */
  readonly env?: NodeJS.ProcessEnv;
  /** @default 30_000 */
  readonly timeoutMs?: number;
}

export interface RunResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `file args…` to completion and returns its output whatever the exit status; rejects only if it cannot start. */
export function runCapture(file: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, {
      env: opts.env ?? process.env,
      stdio: ['pipe', 'pipe', 'pipe'],
      timeout: opts.timeoutMs ?? 30_000,
      killSignal: 'SIGKILL',
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.once('error', (e) =>
      reject(new KubeletError('ERR_KUBELET_COMMAND', `cannot run ${file}: ${e.message}`, { cause: e })),
    );
    child.once('close', (code, signal) =>
      resolve({
        code,
        signal,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
      }),
    );
    // A child that exits without reading stdin gives EPIPE here; its exit status tells the story.
    child.stdin.on('error', () => undefined);
    child.stdin.end(opts.input ?? '');
  });
}

/** Runs a tool and returns stdout; a non-zero exit throws ERR_KUBELET_COMMAND with its stderr. */
export async function run(name: ToolName, args: readonly string[], opts: RunOptions = {}): Promise<string> {
  const file = tool(name);
  const res = await runCapture(file, args, opts);
  if (res.code !== 0) {
    const why = res.signal !== null ? `killed by ${res.signal}` : `exit ${String(res.code)}`;
    throw new KubeletError(
      'ERR_KUBELET_COMMAND',
      `${name} ${args.join(' ')} failed (${why}): ${res.stderr.trim() || res.stdout.trim()}`,
    );
  }
  return res.stdout;
}
