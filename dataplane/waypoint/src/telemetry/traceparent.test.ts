import { describe, expect, it } from 'vitest';
import { formatTraceparent, nextTraceContext } from './traceparent.ts';

const ids = (bytes: number) => (bytes === 16 ? 'a'.repeat(32) : 'b'.repeat(16));
const CALLER = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';

describe('nextTraceContext', () => {
  it('keeps the caller trace and flags, with a new span id for the upstream hop', () => {
    const t = nextTraceContext(CALLER, ids);
    expect(formatTraceparent(t)).toBe('00-0af7651916cd43dd8448eb211c80319c-bbbbbbbbbbbbbbbb-01');
    expect(t.parentSpanId).toBe('b7ad6b7169203331');
  });

  it.each([
    ['absent', undefined],
    ['garbage', 'nope'],
    ['version ff', CALLER.replace(/^00/, 'ff')],
    ['all-zero trace id', `00-${'0'.repeat(32)}-b7ad6b7169203331-01`],
    ['all-zero span id', `00-0af7651916cd43dd8448eb211c80319c-${'0'.repeat(16)}-01`],
    ['version 00 with extra fields', `${CALLER}-extra`],
  ])('starts a new sampled trace when the header is %s', (_what, header) => {
    expect(formatTraceparent(nextTraceContext(header, ids))).toBe(
      `00-${'a'.repeat(32)}-${'b'.repeat(16)}-01`,
    );
  });

  it('reads a future version by its first four fields', () => {
    const t = nextTraceContext(`01-${'c'.repeat(32)}-${'d'.repeat(16)}-00-more`, ids);
    expect(t.traceId).toBe('c'.repeat(32));
    expect(t.flags).toBe('00');
  });
});
