// A request body that can be read again for a retry: streamed to the first try as it arrives, and kept in memory
// up to a bound so a later try can replay it. Past the bound the copy is dropped and the body is no longer
// replayable (a retry is then not made: Envoy's `per_request_buffer_limit_bytes` behaves the same way). Reading is
// pull-based, so the caller's body is read only as fast as the current try sends it (backpressure intact).
import { Readable } from 'node:stream';

/** Envoy's default retry buffer is 64 KiB per request as well (`per_request_buffer_limit_bytes`). */
export const RETRY_BUFFER_BYTES = 64 * 1024;

export class RequestBody {
  readonly #source: Readable;
  readonly #limit: number;
  /** Chunks kept; `#base` is the absolute index of `#chunks[0]` (chunks before it were dropped). */
  #chunks: Buffer[] = [];
  #base = 0;
  #bytes = 0;
  #ended = false;
  #overflow = false;
  #error: Error | undefined;
  #opened = 0;
  #current: Readable | undefined;
  #wake: (() => void) | undefined;
  readonly #done: Promise<void>;

  /** `limit` 0 keeps nothing: the body streams once and is never replayable. */
  constructor(source: Readable, limit: number) {
    this.#source = source;
    this.#limit = limit;
    this.#done = new Promise((resolve) => {
      source.on('readable', () => this.#wake?.());
      source.once('end', () => {
        this.#ended = true;
        this.#wake?.();
        resolve();
      });
      source.once('error', (err: Error) => {
        this.#error = err;
        this.#wake?.();
        resolve();
      });
      source.once('close', () => {
        if (!this.#ended && this.#error === undefined) this.#error = new Error('request body aborted');
        this.#wake?.();
        resolve();
      });
    });
  }

  /** Bytes received from the caller so far. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Whether `open()` can start the body over: nothing dropped yet. */
  get replayable(): boolean {
    return !this.#overflow && this.#error === undefined;
  }

  /** Whether the whole body arrived and is held (mirrors need that). */
  get complete(): boolean {
    return this.#ended && !this.#overflow;
  }

  /** Settles when the caller's body ended or failed. */
  get done(): Promise<void> {
    return this.#done;
  }

  /** The whole body, when `complete`. */
  buffered(): Buffer {
    return Buffer.concat(this.#chunks);
  }

  /** A stream of the body from its start; the previous reader is destroyed (one try at a time). */
  open(): Readable {
    if (this.#opened > 0 && !this.replayable) throw new Error('request body is not replayable');
    this.#opened++;
    this.#current?.destroy();
    let position = this.#base;
    // Pushes until the reader says stop or nothing is left. When the caller's body has nothing yet, `#wake`
    // re-runs it on the next 'readable' (a Readable calls `read` again only after a push, so waiting is ours).
    const pump = (): void => {
      this.#wake = undefined;
      for (;;) {
        if (this.#current !== reader) return;
        if (position < this.#base + this.#chunks.length) {
          const chunk = this.#chunks[position - this.#base]!;
          position++;
          if (this.#overflow) {
            // Past the bound nothing is kept once sent.
            this.#chunks.shift();
            this.#base++;
          }
          if (!reader.push(chunk)) return;
          continue;
        }
        if (this.#error !== undefined) return void reader.destroy(this.#error);
        if (this.#ended) return void reader.push(null);
        const chunk = this.#source.read() as Buffer | string | null;
        if (chunk === null) {
          // 'end' may be pending until read() returned null; it wakes us too.
          this.#wake = pump;
          return;
        }
        this.#take(typeof chunk === 'string' ? Buffer.from(chunk) : chunk, position);
      }
    };
    const reader: Readable = new Readable({ read: pump });
    this.#current = reader;
    return reader;
  }

  /** Keeps a new chunk; crossing the bound drops what the current reader already sent. */
  #take(chunk: Buffer, position: number): void {
    this.#bytes += chunk.length;
    this.#chunks.push(chunk);
    if (!this.#overflow && this.#bytes > this.#limit) {
      this.#overflow = true;
      const sent = position - this.#base;
      this.#chunks = this.#chunks.slice(sent);
      this.#base = position;
    }
  }
}
