// Starts a container: a program in the pod netns and a private mount namespace with its volumes, logs in CRI format.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, stat } from 'node:fs/promises';
import { dirname, posix } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CriLogWriter } from './cri-log.ts';
import { KubeletError } from './errors.ts';
import { launcherArgv, READY_LINE, REPORT_FD, type LaunchMount, type LauncherPlan } from './launcher.ts';
import { prepareMountpoints, type MountpointLease } from './mountpoints.ts';
import { runCapture, tool } from './tools.ts';
import type { ContainerMount, EnvVar } from './types.ts';

/** containerd's PATH for images that set none. */
export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export interface StartContainerOptions {
  /** For messages, e.g. `ns/pod/container`. @default the command */
  readonly name?: string;
  /** The pod's netns; null for a hostNetwork pod, which then runs in `nodeNetns`. */
  readonly netns: string | null;
  readonly nodeNetns: string;
  /** The program and its arguments, already `$(VAR)`-expanded (see expandCommand). Must not be empty. */
  readonly command: readonly string[];
  readonly args?: readonly string[];
  /** The whole environment (see resolveEnv); PATH defaults to DEFAULT_PATH. */
  readonly env: readonly EnvVar[];
  readonly workingDir?: string;
  /** Volume binds and the sandbox's etcMounts. Missing subPath sources are made as directories. */
  readonly mounts: readonly ContainerMount[];
  /** CRI-format log file; its directory is created. */
  readonly logPath: string;
  /** The pod's hostname, set in a UTS namespace of its own (also exported as HOSTNAME); omit for hostNetwork pods. */
  readonly hostname?: string;
  /** How long the launcher may take to set up. @default 10_000 */
  readonly startTimeoutMs?: number;
}

export interface ContainerExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface ExecResult extends ContainerExit {
  /** stdout followed by stderr, as an exec probe reads it. */
  readonly output: string;
  readonly timedOut: boolean;
}

export interface ContainerHandle {
  /** The program's pid (the launcher execs into it). */
  readonly pid: number;
  readonly startedAt: Date;
  /** The program's whole environment (PATH and HOSTNAME included), which exec'd commands get too. */
  readonly env: Readonly<Record<string, string>>;
  /** Resolves once the program exited, its process group is gone, the log is flushed and mount points released. */
  readonly exited: Promise<ContainerExit>;
  /** Set once exited. */
  readonly exitInfo: ContainerExit | undefined;
  /** SIGTERM to the program, SIGKILL to its whole process group after `graceSeconds`; resolves with the exit. */
  stop(graceSeconds: number): Promise<ContainerExit>;
  /** Runs a command inside the container's mount, network and UTS namespaces with its environment. */
  exec(command: readonly string[], opts?: { readonly timeoutMs?: number }): Promise<ExecResult>;
}

/** containerd's mount order: by number of path components, so parents are mounted before their children. */
function depth(p: string): number {
  return posix
    .normalize(p)
    .split('/')
    .filter((c) => c !== '').length;
}

async function launchMounts(mounts: readonly ContainerMount[]): Promise<LaunchMount[]> {
  const out: LaunchMount[] = [];
  for (const m of [...mounts].sort((a, b) => depth(a.mountPath) - depth(b.mountPath))) {
    let isDir: boolean;
    try {
      isDir = (await stat(m.hostPath)).isDirectory();
    } catch {
      await mkdir(m.hostPath, { recursive: true }); // a subPath not made yet: kubelet creates it as a directory
      isDir = true;
    }
    out.push({
      source: m.hostPath,
      target: posix.normalize(m.mountPath),
      readOnly: m.readOnly,
      kind: isDir ? 'dir' : 'file',
    });
  }
  return out;
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
}

/** Reads the launcher's report fd until READY (resolves true) or EOF without it (resolves false). */
function awaitReady(child: ChildProcess, report: string[]): Promise<boolean> {
  const stream = child.stdio[REPORT_FD];
  return new Promise((resolve) => {
    if (stream === null || stream === undefined) {
      resolve(false);
      return;
    }
    let text = '';
    stream.on('data', (b: Buffer) => {
      text += b.toString('utf8');
      if (text.split('\n').includes(READY_LINE)) resolve(true);
    });
    stream.once('close', () => {
      report.push(...text.split('\n').filter((l) => l !== '' && l !== READY_LINE));
      resolve(text.split('\n').includes(READY_LINE));
    });
  });
}

/**
 * Starts the container and resolves once the launcher has made every mount and is exec-ing the program.
 * A launcher failure (a bind that fails, a missing working directory, a program not on PATH) rejects with
 * ERR_CONTAINER_START carrying the tool's message; nothing is left behind.
 */
export async function startContainer(o: StartContainerOptions): Promise<ContainerHandle> {
  const name = o.name ?? o.command.join(' ');
  const argv = [...o.command, ...(o.args ?? [])];
  if (o.command.length === 0) {
    throw new KubeletError(
      'ERR_CONTAINER_START',
      `container ${name}: no command (the box has no image entrypoints)`,
    );
  }
  const env: Record<string, string> = { PATH: DEFAULT_PATH };
  if (o.hostname !== undefined) env.HOSTNAME = o.hostname;
  for (const e of o.env) env[e.name] = e.value;

  let mounts: LaunchMount[];
  let lease: MountpointLease;
  try {
    mounts = await launchMounts(o.mounts);
    lease = await prepareMountpoints(mounts);
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    throw new KubeletError('ERR_CONTAINER_START', `container ${name}: cannot prepare mounts: ${why}`, {
      cause: err,
    });
  }
  const plan: LauncherPlan = {
    netns: o.netns ?? o.nodeNetns,
    tmpfsDirs: lease.tmpfsDirs,
    mounts,
    ...(o.hostname === undefined ? {} : { hostname: o.hostname }),
    ...(o.workingDir === undefined || o.workingDir === '' ? {} : { workingDir: o.workingDir }),
    keepShellVars: o.env.map((e) => e.name).filter((n) => n === 'PWD' || n === 'OLDPWD'),
    argv,
  };
  const tools = {
    ip: tool('ip'),
    unshare: tool('unshare'),
    sh: tool('sh'),
    mount: tool('mount'),
    mkdir: tool('mkdir'),
  };
  const { file, args } = launcherArgv(plan, tools);

  await mkdir(dirname(o.logPath), { recursive: true });
  const log = new CriLogWriter(o.logPath);
  let child: ChildProcess;
  try {
    child = spawn(file, args, { env, detached: true, stdio: ['ignore', 'pipe', 'pipe', 'pipe'] });
  } catch (err) {
    await lease.release();
    throw new KubeletError('ERR_CONTAINER_START', `container ${name}: cannot spawn ${file}`, { cause: err });
  }
  if (child.stdout !== null) log.attach(child.stdout, 'stdout');
  if (child.stderr !== null) log.attach(child.stderr, 'stderr');

  let exitInfo: ContainerExit | undefined;
  const rawExit = new Promise<ContainerExit>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
    child.once('error', () => resolve({ code: null, signal: null }));
  });
  const pid = child.pid ?? -1;
  const exited = rawExit.then(async (info) => {
    if (pid > 0) signalGroup(pid, 'SIGKILL'); // like a pid namespace ending: nothing outlives the main process
    await log.close();
    await lease.release();
    exitInfo = info;
    return info;
  });

  const report: string[] = [];
  const timeoutMs = o.startTimeoutMs ?? 10_000;
  const ready = await Promise.race([awaitReady(child, report), sleep(timeoutMs, 'timeout' as const)]);
  if (ready !== true) {
    if (pid > 0) signalGroup(pid, 'SIGKILL');
    const info = await exited;
    const why =
      ready === 'timeout' ? `not ready after ${timeoutMs} ms` : `launcher exited (${describeExit(info)})`;
    throw new KubeletError(
      'ERR_CONTAINER_START',
      `container ${name}: ${why}: ${report.join('; ') || 'no message'}`,
    );
  }

  return {
    pid,
    startedAt: new Date(),
    env,
    exited,
    get exitInfo() {
      return exitInfo;
    },
    async stop(graceSeconds: number): Promise<ContainerExit> {
      if (exitInfo !== undefined) return exitInfo;
      try {
        process.kill(pid, 'SIGTERM'); // to the program only, as a runtime's StopContainer does
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
      }
      const done = await Promise.race([rawExit, sleep(graceSeconds * 1000, 'timeout' as const)]);
      if (done === 'timeout') signalGroup(pid, 'SIGKILL');
      return exited;
    },
    exec: (command, opts) => execIn(pid, env, command, opts?.timeoutMs ?? 10_000),
  };
}

function describeExit(info: ContainerExit): string {
  return info.signal !== null ? `signal ${info.signal}` : `exit ${String(info.code)}`;
}

async function execIn(
  pid: number,
  env: Record<string, string>,
  command: readonly string[],
  timeoutMs: number,
): Promise<ExecResult> {
  const started = Date.now();
  const res = await runCapture(
    tool('nsenter'),
    ['--target', String(pid), '--mount', '--net', '--uts', '--wd', '--', ...command],
    { env, timeoutMs },
  );
  const timedOut = res.signal === 'SIGKILL' && Date.now() - started >= timeoutMs;
  return { code: res.code, signal: res.signal, output: res.stdout + res.stderr, timedOut };
}
