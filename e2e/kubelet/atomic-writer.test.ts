// Unit tests: the AtomicWriter layout and its updates, in a temp dir.
import { lstat, mkdtemp, readdir, readFile, readlink, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { writeAtomic } from './atomic-writer.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'akt-atomic-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const file = (s: string, mode = 0o644): { data: Buffer; mode: number } => ({ data: Buffer.from(s), mode });

describe('writeAtomic', () => {
  it('lays files out behind ..data symlinks, as the kubelet does', async () => {
    const target = join(dir, 'vol');
    await writeAtomic(
      target,
      new Map([
        ['token', file('t1', 0o600)],
        ['sub/ca.crt', file('ca')],
      ]),
      new Date(Date.UTC(2026, 0, 2, 3, 4, 5)),
    );
    const entries = (await readdir(target)).sort();
    expect(entries).toEqual([
      expect.stringMatching(/^\.\.2026_01_02_03_04_05\.\w+$/),
      '..data',
      'sub',
      'token',
    ]);
    expect(await readlink(join(target, 'token'))).toBe('..data/token');
    expect((await lstat(join(target, 'sub'))).isSymbolicLink()).toBe(true);
    expect(await readFile(join(target, 'sub/ca.crt'), 'utf8')).toBe('ca');
    expect((await stat(join(target, 'token'))).mode & 0o777).toBe(0o600);
  });

  it('swaps the whole payload on update and removes what is gone', async () => {
    const target = join(dir, 'vol');
    await writeAtomic(
      target,
      new Map([
        ['token', file('t1')],
        ['old', file('o')],
      ]),
    );
    const first = await readlink(join(target, '..data'));
    await writeAtomic(target, new Map([['token', file('t2')]]));
    expect(await readFile(join(target, 'token'), 'utf8')).toBe('t2');
    expect(await readlink(join(target, '..data'))).not.toBe(first);
    const entries = await readdir(target);
    expect(entries).not.toContain('old');
    expect(entries).not.toContain(first);
    expect(entries.filter((e) => e.startsWith('..'))).toHaveLength(2);
  });

  it('writes an empty volume for an empty payload', async () => {
    const target = join(dir, 'vol');
    await writeAtomic(target, new Map());
    expect((await readdir(target)).filter((e) => !e.startsWith('..'))).toEqual([]);
  });
});
