// Makes sure no cluster outlives this Node process: kills children on exit and stops clusters on SIGINT/SIGTERM.
import { constants } from 'node:os';

/** What a live cluster registers: a synchronous last resort for 'exit', and its normal async stop. */
export interface Teardown {
  /** Must be synchronous: SIGKILL the process groups, remove the work dir. */
  readonly kill: () => void;
  readonly stop: () => Promise<void>;
}

const live = new Set<Teardown>();
let installed = false;
let stopping = false;

function killAll(): void {
  for (const t of live) {
    try {
      t.kill();
    } catch {
      // best effort: we are exiting
    }
  }
}

/**
 * On SIGINT/SIGTERM: if another listener exists (a test runner, the cluster-up CLI) it owns the shutdown, and the
 * 'exit' hook still kills our children; otherwise stop every cluster, then exit 128+signo. A second signal while
 * stopping exits at once.
 */
function onSignal(signal: NodeJS.Signals): void {
  if (process.listenerCount(signal) > 1) return;
  const code = 128 + (constants.signals[signal] ?? 1);
  if (stopping) process.exit(code);
  stopping = true;
  void Promise.allSettled([...live].map((t) => t.stop())).finally(() => process.exit(code));
}

function install(): void {
  if (installed) return;
  installed = true;
  process.on('exit', killAll);
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}

/** Registers a live cluster; call the returned function once it is stopped. */
export function track(teardown: Teardown): () => void {
  install();
  live.add(teardown);
  return () => live.delete(teardown);
}
