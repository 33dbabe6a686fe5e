// Which protocol a CONNECT stream carries, from its first bytes: the HTTP/2 connection preface, an HTTP/1.x
// request line, or anything else. The bytes read are pushed back, so whoever serves the stream sees them all.
import type { Duplex } from 'node:stream';

export type Sniffed = 'h2' | 'http1' | 'other';

const H2_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
/** RFC 9110 methods and the common extensions; a request line starts with one and a space. */
const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH', 'PROPFIND'];
const LONGEST = Math.max(...METHODS.map((m) => m.length)) + 1;

/** The verdict on the bytes so far, or undefined when more are needed. */
export function classify(buf: Buffer): Sniffed | undefined {
  const n = Math.min(buf.length, H2_PREFACE.length);
  if (buf.subarray(0, n).equals(H2_PREFACE.subarray(0, n))) return n === H2_PREFACE.length ? 'h2' : undefined;
  const head = buf.subarray(0, LONGEST).toString('latin1');
  if (METHODS.some((m) => head.startsWith(`${m} `))) return 'http1';
  if (head.length < LONGEST && METHODS.some((m) => `${m} `.startsWith(head))) return undefined;
  return 'other';
}

/**
 * Reads until `classify` decides, the stream ends, or `timeoutMs` passes with nothing decided (server-first
 * protocols never send first: they are `other`). Unshifts what it read.
 */
export function sniff(stream: Duplex, timeoutMs?: number): Promise<Sniffed> {
  return new Promise((resolve) => {
    let buf = Buffer.alloc(0);
    let timer: NodeJS.Timeout | undefined;
    const finish = (verdict: Sniffed) => {
      clearTimeout(timer);
      stream.off('readable', onReadable);
      stream.off('end', onEnd);
      stream.off('close', onEnd);
      if (buf.length > 0) stream.unshift(buf);
      resolve(verdict);
    };
    const onEnd = () => finish(classify(buf) ?? 'other');
    const onReadable = () => {
      let chunk: Buffer | null;
      while ((chunk = stream.read() as Buffer | null) !== null) {
        buf = Buffer.concat([buf, chunk]);
        const verdict = classify(buf);
        if (verdict !== undefined) return finish(verdict);
      }
    };
    if (timeoutMs !== undefined) timer = setTimeout(() => finish('other'), timeoutMs);
    stream.on('readable', onReadable);
    stream.once('end', onEnd);
    stream.once('close', onEnd);
  });
}
