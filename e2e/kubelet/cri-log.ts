// Container logs in the CRI format (`<RFC3339Nano> <stream> <F|P> <line>`) that `kubectl logs` is served from.
import { createWriteStream, type WriteStream } from 'node:fs';
import type { Readable } from 'node:stream';

export type LogStream = 'stdout' | 'stderr';
/** `F` ends a line, `P` is a piece of a longer one. */
export type LogTag = 'F' | 'P';

/** containerd's default max_container_log_line_size: longer lines are split into `P` pieces. */
export const MAX_LOG_LINE = 16 * 1024;

/** Go's time.RFC3339Nano in UTC: fractional seconds with trailing zeros (and a bare `.`) dropped. */
export function rfc3339Nano(epochNs: bigint): string {
  const ms = Number(epochNs / 1_000_000n);
  const frac = (epochNs % 1_000_000_000n).toString().padStart(9, '0').replace(/0+$/, '');
  const base = new Date(ms).toISOString().slice(0, 19);
  return `${base}${frac === '' ? '' : `.${frac}`}Z`;
}

const epochAtStart = BigInt(Date.now()) * 1_000_000n - process.hrtime.bigint();

/** Wall-clock nanoseconds: the epoch at module load plus the monotonic clock since (ms wall clock, ns steps). */
export function nowNs(): bigint {
  return epochAtStart + process.hrtime.bigint();
}

export function criLine(ts: string, stream: LogStream, tag: LogTag, content: Buffer): Buffer {
  return Buffer.concat([Buffer.from(`${ts} ${stream} ${tag} `), content, Buffer.from('\n')]);
}

export interface SplitResult {
  readonly lines: readonly { readonly content: Buffer; readonly tag: LogTag }[];
  /** Bytes of an unfinished line, to prepend to the next chunk. */
  readonly rest: Buffer;
}

/** Splits buffered output into complete lines (`\n` or `\r\n` dropped) and `P` pieces of at most `max` bytes. */
export function splitLines(buffered: Buffer, max: number = MAX_LOG_LINE): SplitResult {
  const lines: { content: Buffer; tag: LogTag }[] = [];
  let start = 0;
  for (;;) {
    const nl = buffered.indexOf(0x0a, start);
    const end = nl === -1 ? buffered.length : nl;
    if (end - start > max) {
      lines.push({ content: buffered.subarray(start, start + max), tag: 'P' });
      start += max;
      continue;
    }
    if (nl === -1) break;
    const stop = end > start && buffered[end - 1] === 0x0d ? end - 1 : end;
    lines.push({ content: buffered.subarray(start, stop), tag: 'F' });
    start = nl + 1;
  }
  return { lines, rest: buffered.subarray(start) };
}

/** Appends a container's stdout and stderr to one CRI log file; `closed` resolves once both ended and were flushed. */
export class CriLogWriter {
  readonly #file: WriteStream;
  readonly #now: () => string;
  readonly #ended: Promise<void>[] = [];

  constructor(path: string, now: () => string = () => rfc3339Nano(nowNs())) {
    this.#file = createWriteStream(path, { flags: 'a', mode: 0o640 });
    this.#now = now;
  }

  /** Follows `stream` until it ends; a final line without a newline is written as a full line (as containerd does). */
  attach(stream: Readable, name: LogStream): void {
    this.#ended.push(
      new Promise((resolve) => {
        let rest: Buffer = Buffer.alloc(0);
        stream.on('data', (chunk: Buffer) => {
          const split = splitLines(rest.length === 0 ? chunk : Buffer.concat([rest, chunk]));
          for (const l of split.lines) this.#file.write(criLine(this.#now(), name, l.tag, l.content));
          rest = Buffer.from(split.rest);
        });
        stream.once('close', () => {
          if (rest.length > 0) this.#file.write(criLine(this.#now(), name, 'F', rest));
          resolve();
        });
      }),
    );
  }

  /** Waits for every attached stream to close, then flushes and closes the file. */
  async close(): Promise<void> {
    await Promise.all(this.#ended);
    await new Promise<void>((resolve, reject) => {
      this.#file.once('error', reject);
      this.#file.end(resolve);
    });
  }
}
