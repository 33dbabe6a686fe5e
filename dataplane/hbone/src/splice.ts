// Joins two byte streams both ways (a CONNECT stream and a TCP socket, usually) with one shared teardown: EOF
// travels as EOF (half-close), a reset travels as a reset, and backpressure is the pipelines' own.
import { constants } from 'node:http2';
import { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { asError, HboneError } from './errors.ts';

export interface SpliceResult {
  /** Bytes read from `a` (and written to `b`). */
  readonly aToB: number;
  /** Bytes read from `b` (and written to `a`). */
  readonly bToA: number;
  /** Set when the splice ended in a reset rather than with both directions finished. */
  readonly error?: Error;
}

interface ClosableStream {
  readonly rstCode?: number;
  readonly closed: boolean;
  close(code?: number): void;
}

function isHttp2Stream(d: Duplex): d is Duplex & ClosableStream {
  return 'rstCode' in d && typeof (d as Partial<ClosableStream>).close === 'function';
}

/**
 * The one place that maps "the other side failed" onto a stream (STYLE §11): an HTTP/2 stream gets RST_STREAM
 * CONNECT_ERROR (RFC 9113 §8.5: a proxy signals a TCP failure so), a TCP socket an RST, anything else `destroy`.
 */
export function resetDuplex(d: Duplex, cause: Error): void {
  if (d.destroyed) return;
  if (isHttp2Stream(d)) {
    if (d.closed) return;
    // A stream whose writes are all flushed takes RST_STREAM CONNECT_ERROR at once. One still writable would defer
    // that RST until 'finish', and a destroy in between (pipeline's, on the same error) drops it for good (Node 24),
    // leaving the peer with a clean END_STREAM: destroy it with the error instead, which sends RST_STREAM
    // INTERNAL_ERROR synchronously.
    if (d.writableFinished) d.close(constants.NGHTTP2_CONNECT_ERROR);
    else d.destroy(cause);
    return;
  }
  if (d instanceof Socket) {
    try {
      d.resetAndDestroy();
      return;
    } catch {
      // A TLSSocket's handle is not TCP; a plain destroy is the best it can do.
    }
  }
  d.destroy(cause);
}

/**
 * Copies a→b and b→a until both directions have ended, and resolves (never rejects) with the byte counts.
 * Invariants:
 * 1. `end` on one side's readable ends the other side's writable, nothing more: the reverse direction goes on.
 * 2. The first error, or a close before both directions finished, resets both sides once (`resetDuplex`).
 * 3. Nothing is buffered beyond the streams' own high-water marks: `pipeline` pauses the reader when the writer
 *    says no, and an HTTP/2 stream that is not read withholds WINDOW_UPDATE, so its peer stops too.
 */
export async function splice(a: Duplex, b: Duplex): Promise<SpliceResult> {
  let error: Error | undefined;
  const abort = (cause: Error) => {
    if (error !== undefined) return;
    error = cause;
    resetDuplex(a, cause);
    resetDuplex(b, cause);
  };
  // Registered before pipeline's own listeners, so our reset reaches the peer before pipeline's plain destroy.
  const reset = () => abort(new HboneError('ERR_HBONE_RESET', 'peer reset the stream'));
  for (const d of [a, b]) {
    d.on('error', abort);
    // An HTTP/2 stream reset by its peer emits 'aborted' (no 'error' for CANCEL) before pipeline destroys it.
    d.once('aborted', reset);
    d.once('close', () => {
      if (!(d.readableEnded && d.writableFinished)) {
        abort(new HboneError('ERR_HBONE_RESET', 'one side closed before both directions finished'));
      }
    });
  }
  let aToB = 0;
  let bToA = 0;
  const forward = pipeline(a, b);
  const backward = pipeline(b, a);
  // Counting by 'data' next to pipe's own listener costs one closure call per chunk, no copy.
  a.on('data', (chunk: Buffer) => (aToB += chunk.length));
  b.on('data', (chunk: Buffer) => (bToA += chunk.length));
  await Promise.all([forward, backward].map((p) => p.catch((err: unknown) => abort(asError(err)))));
  return error === undefined ? { aToB, bToA } : { aToB, bToA, error };
}
