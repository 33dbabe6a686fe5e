// Helpers for integration tests that drive real processes and apiservers: poll for a condition with a deadline
// (DESIGN §8: time bounds are deadlines polled with margin, never sleeps) and pick a free loopback port.
import { freePorts } from '../cluster/ports.ts';

export interface UntilOptions {
  /** @default 30_000 */
  readonly timeoutMs?: number;
  /** @default 100 */
  readonly everyMs?: number;
}

/**
 * Calls `probe` until it returns something other than `undefined` or `false`, and returns that. A probe that throws
 * counts as "not yet"; the last error is named when the deadline passes. A number for `options` is the timeout.
 */
export async function until<T>(
  what: string,
  probe: () => T | undefined | false | Promise<T | undefined | false>,
  options: UntilOptions | number = {},
): Promise<T> {
  const o = typeof options === 'number' ? { timeoutMs: options } : options;
  const end = Date.now() + (o.timeoutMs ?? 30_000);
  let last = '';
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      last = err instanceof Error ? err.message : String(err);
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${last ? `: ${last}` : ''}`);
    await new Promise((r) => setTimeout(r, o.everyMs ?? 100));
  }
}

/** One free TCP port on loopback (racy by nature: bind soon). */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  const [port] = await freePorts(1, host);
  if (port === undefined) throw new Error('no free port');
  return port;
}
