import { describe, expect, it } from 'vitest';
import { RecordIndex, recordLineage, type Groups } from './record-index.ts';

interface Rec {
  readonly node: string | undefined;
  readonly n: number;
}

/** A small deterministic generator (the sequences must be the same on every run). */
function rng(seed: number) {
  let s = seed >>> 0;
  return (max: number) => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s % max;
  };
}

const plain = (g: Groups<Rec>) =>
  Object.fromEntries([...g].map(([k, m]) => [k, Object.fromEntries([...m].sort())] as const).sort());

describe('RecordIndex', () => {
  it('groups records by key and leaves out records without one', () => {
    const index = new RecordIndex<Rec>((r) => r.node);
    const map = new Map<string, Rec>([
      ['a', { node: 'n1', n: 1 }],
      ['b', { node: 'n2', n: 2 }],
      ['c', { node: 'n1', n: 3 }],
      ['d', { node: undefined, n: 4 }],
    ]);
    expect([...index.group(map, 'n1').keys()].sort()).toEqual(['a', 'c']);
    expect([...index.group(map, 'n2').keys()]).toEqual(['b']);
    expect(index.group(map, 'n3').size).toBe(0);
    expect([...index.groups(map).keys()].sort()).toEqual(['n1', 'n2']);
  });

  it('derives the index of a new version from the old one exactly as a rebuild would (300 random steps)', () => {
    const next = rng(7);
    const derived = new RecordIndex<Rec>((r) => r.node);
    const rebuilt = new RecordIndex<Rec>((r) => r.node);
    let map = new Map<string, Rec>();
    for (let i = 0; i < 50; i++) map.set(`w${i}`, { node: `n${next(5)}`, n: i });
    derived.groups(map);
    for (let step = 0; step < 300; step++) {
      const after = new Map(map);
      const touched: string[] = [];
      for (let k = next(4); k >= 0; k--) {
        const id = `w${next(60)}`;
        touched.push(id);
        const roll = next(4);
        if (roll === 0) after.delete(id);
        else if (roll === 1) after.set(id, { node: undefined, n: step });
        else after.set(id, { node: `n${next(6)}`, n: step });
      }
      recordLineage(map, after, touched);
      expect(plain(derived.groups(after))).toEqual(plain(rebuilt.groups(after)));
      map = after;
    }
  });

  it('never changes the index of an older version when deriving a newer one', () => {
    const index = new RecordIndex<Rec>((r) => r.node);
    const v1 = new Map<string, Rec>([['a', { node: 'n1', n: 1 }]]);
    const before = plain(index.groups(v1));
    const v2 = new Map<string, Rec>([['a', { node: 'n2', n: 1 }]]);
    recordLineage(v1, v2, ['a']);
    expect([...index.group(v2, 'n2').keys()]).toEqual(['a']);
    expect(plain(index.groups(v1))).toEqual(before);
  });
});
