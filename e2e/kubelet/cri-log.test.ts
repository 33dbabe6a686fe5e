// Unit tests: CRI log timestamps, line splitting and the stream writer.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { CriLogWriter, rfc3339Nano, splitLines } from './cri-log.ts';

describe('rfc3339Nano', () => {
  it('formats like Go: nanoseconds, trailing zeros dropped', () => {
    const base = BigInt(Date.UTC(2026, 10, 23, 14, 59, 27)) * 1_000_000n;
    expect(rfc3339Nano(base + 461_557_785n)).toBe('2026-11-23T14:59:27.461557785Z');
    expect(rfc3339Nano(base + 460_000_000n)).toBe('2026-11-23T14:59:27.46Z');
    expect(rfc3339Nano(base)).toBe('2026-11-23T14:59:27Z');
  });
});

describe('splitLines', () => {
  it('splits on \\n and \\r\\n and keeps an unfinished line', () => {
    const r = splitLines(Buffer.from('a\r\nb\n\nc'));
    expect(r.lines.map((l) => [l.content.toString(), l.tag])).toEqual([
      ['a', 'F'],
      ['b', 'F'],
      ['', 'F'],
    ]);
    expect(r.rest.toString()).toBe('c');
  });

  it('cuts long lines into P pieces', () => {
    const r = splitLines(Buffer.from('abcdefg\nxyz12'), 3);
    expect(r.lines.map((l) => [l.content.toString(), l.tag])).toEqual([
      ['abc', 'P'],
      ['def', 'P'],
      ['g', 'F'],
      ['xyz', 'P'],
    ]);
    expect(r.rest.toString()).toBe('12');
  });
});

describe('CriLogWriter', () => {
  it('writes both streams with prefixes and flushes an unterminated last line as F', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'akt-log-'));
    try {
      const path = join(dir, '0.log');
      const w = new CriLogWriter(path, () => 'T');
      const out = new PassThrough();
      const err = new PassThrough();
      w.attach(out, 'stdout');
      w.attach(err, 'stderr');
      out.write('hel');
      out.write('lo\nwor');
      err.end('oops\n');
      out.end('ld');
      await w.close();
      const lines = (await readFile(path, 'utf8')).split('\n');
      expect(lines).toEqual(
        expect.arrayContaining(['T stdout F hello', 'T stderr F oops', 'T stdout F world']),
      );
      expect(lines).toHaveLength(4);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
