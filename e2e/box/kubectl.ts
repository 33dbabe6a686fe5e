// Runs the real kubectl against a box, as a person in another shell would.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { BoxError } from './errors.ts';

export interface KubectlResult {
  /** The exit status; -1 when killed at the deadline. */
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface KubectlOptions {
  /** Written to stdin, which is then closed. */
  readonly input?: string;
  /** SIGKILL after this long. @default 60_000 */
  readonly timeoutMs?: number;
  /** The working directory (for relative paths such as `-k manifests/`). @default process.cwd() */
  readonly cwd?: string;
}

/** `kubectl --kubeconfig <kubeconfig> args…`; never rejects for a non-zero exit (the status is in the result). */
export async function kubectl(
  kubeconfig: string,
  args: readonly string[],
  o: KubectlOptions = {},
): Promise<KubectlResult> {
  const child = spawn('kubectl', ['--kubeconfig', kubeconfig, ...args], {
    stdio: 'pipe',
    ...(o.cwd === undefined ? {} : { cwd: o.cwd }),
  });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout.on('data', (b: Buffer) => out.push(b));
  child.stderr.on('data', (b: Buffer) => err.push(b));
  child.stdin.on('error', () => undefined);
  child.stdin.end(o.input ?? '');
  const timer = setTimeout(() => child.kill('SIGKILL'), o.timeoutMs ?? 60_000);
  const [code] = (await once(child, 'close')) as [number | null];
  clearTimeout(timer);
  return {
    code: code ?? -1,
    stdout: Buffer.concat(out).toString('utf8'),
    stderr: Buffer.concat(err).toString('utf8'),
  };
}

/** Like kubectl(), but a non-zero exit throws ERR_BOX_KUBECTL with the command and what it printed. */
export async function kubectlOk(
  kubeconfig: string,
  args: readonly string[],
  o: KubectlOptions = {},
): Promise<string> {
  const r = await kubectl(kubeconfig, args, o);
  if (r.code !== 0) {
    throw new BoxError(
      'ERR_BOX_KUBECTL',
      `kubectl ${args.join(' ')} exited ${r.code}: ${(r.stderr || r.stdout).trim()}`,
    );
  }
  return r.stdout;
}
