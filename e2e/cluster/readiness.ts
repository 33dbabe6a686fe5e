// Polls a component's readiness probe while watching its process, and explains a failure with its log tail.
import { setTimeout as sleep } from 'node:timers/promises';
import { ClusterError } from './errors.ts';
import { launch, tailLog, type LaunchSpec, type ManagedProcess } from './process.ts';

export interface WaitReadyOptions {
  /** Resolves true when ready; a throw (e.g. connection refused) counts as not ready yet. */
  readonly probe: () => Promise<boolean>;
  readonly timeoutMs: number;
  /** @default 100 */
  readonly intervalMs?: number;
}

const LOG_TAIL_LINES = 40;
/** What Go's net package says when a listen fails because the port is taken. */
const PORT_IN_USE = /address already in use/;

async function describe(proc: ManagedProcess, what: string): Promise<string> {
  const tail = await tailLog(proc.logPath, LOG_TAIL_LINES);
  return `${proc.name} (pid ${proc.pid}) ${what}; last ${LOG_TAIL_LINES} lines of ${proc.logPath}:\n${tail}`;
}

/**
 * Resolves once `probe` says ready. Throws ERR_CLUSTER_PORT_IN_USE if the process died on a bind error (so the
 * caller can retry on other ports), ERR_CLUSTER_PROCESS_EXITED if it died otherwise, ERR_CLUSTER_READY_TIMEOUT after
 * `timeoutMs`.
 */
export async function waitReady(proc: ManagedProcess, opts: WaitReadyOptions): Promise<void> {
  const deadline = Date.now() + opts.timeoutMs;
  for (;;) {
    const ready = await opts.probe().catch(() => false);
    if (ready) return;
    const exit = proc.exitInfo;
    if (exit !== undefined) {
      const tail = await tailLog(proc.logPath, LOG_TAIL_LINES);
      const code = PORT_IN_USE.test(tail) ? 'ERR_CLUSTER_PORT_IN_USE' : 'ERR_CLUSTER_PROCESS_EXITED';
      const how = exit.signal ?? `code ${exit.code}`;
      throw new ClusterError(code, await describe(proc, `exited (${how}) before becoming ready`));
    }
    if (Date.now() >= deadline) {
      throw new ClusterError(
        'ERR_CLUSTER_READY_TIMEOUT',
        await describe(proc, `not ready after ${opts.timeoutMs} ms`),
      );
    }
    await sleep(opts.intervalMs ?? 100);
  }
}

/**
 * Launches `spec` and resolves once it is ready (see waitReady). On failure the process is already stopped, and the
 * error is a ClusterError (a launch failure becomes ERR_CLUSTER_PROCESS_EXITED).
 */
export async function launchReady(spec: LaunchSpec, opts: WaitReadyOptions): Promise<ManagedProcess> {
  let proc: ManagedProcess | undefined;
  try {
    proc = await launch(spec);
    await waitReady(proc, opts);
    return proc;
  } catch (err) {
    await proc?.stop();
    throw err instanceof ClusterError
      ? err
      : new ClusterError('ERR_CLUSTER_PROCESS_EXITED', `${spec.name} failed to start`, { cause: err });
  }
}
