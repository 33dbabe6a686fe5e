import type { Service, Workload } from '@ambit/config';
import { service, workload } from '@ambit/config/testing';
import { describe, expect, it } from 'vitest';
import { ChangeJournal, touchedIds } from './change-journal.ts';
import type { FullConfig } from './scope.ts';

const rec = (n: number) => ({ n });

function config(workloads: Workload[], services: Service[]): FullConfig {
  return {
    workloads: new Map(workloads.map((w) => [w.uid, w])),
    services: new Map(services.map((x) => [x.id, x])),
    authorizations: new Map(),
  };
}

describe('touchedIds', () => {
  const a = rec(1);
  const b = rec(2);
  const c = rec(3);
  it('names new, replaced and removed ids, and not ids whose record is the same object', () => {
    const before = new Map([
      ['a', a],
      ['b', b],
      ['c', c],
    ]);
    const after = new Map([
      ['a', a],
      ['b', rec(2)],
      ['d', rec(4)],
    ]);
    expect([...touchedIds(before, after)].sort()).toEqual(['b', 'c', 'd']);
  });
  it('finds removals when an addition balances the sizes', () => {
    const before = new Map([
      ['a', a],
      ['b', b],
    ]);
    const after = new Map([
      ['a', a],
      ['z', b],
    ]);
    expect([...touchedIds(before, after)].sort()).toEqual(['b', 'z']);
  });
  it('is empty for the same map or equal identities', () => {
    const m = new Map([['a', a]]);
    expect(touchedIds(m, m).size).toBe(0);
    expect(touchedIds(m, new Map(m)).size).toBe(0);
  });
});

describe('ChangeJournal', () => {
  const wa = workload('a');
  const wb = workload('b');
  const s = service('s');
  const v0 = config([], []);
  const v1 = config([wa], []);
  const v2 = config([wa, wb], [s]);
  const v3 = config([wb], [s]);

  it('answers the union of what changed after a version, and nothing for the newest', () => {
    const j = new ChangeJournal();
    j.record(1, v0, v1);
    j.record(2, v1, v2);
    j.record(3, v2, v3);
    expect([...j.since(0)!.workloads].sort()).toEqual(['uid-a', 'uid-b']);
    expect([...j.since(1)!.workloads].sort()).toEqual(['uid-a', 'uid-b']);
    expect([...j.since(1)!.services]).toEqual(['default/s']);
    expect([...j.since(2)!.workloads]).toEqual(['uid-a']);
    expect(j.since(2)!.services.size).toBe(0);
    expect(j.since(3)!.workloads.size).toBe(0);
  });

  it('says it does not know (undefined) once the versions asked about were pruned or fell out of capacity', () => {
    const j = new ChangeJournal({ capacity: 2 });
    j.record(1, v0, v1);
    j.record(2, v1, v2);
    j.record(3, v2, v3);
    expect(j.size).toBe(2);
    expect(j.since(0)).toBeUndefined();
    expect(j.since(1)).toBeDefined();
    j.prune(3);
    expect(j.size).toBe(0);
    expect(j.since(3)!.workloads.size).toBe(0);
    expect(j.since(2)).toBeUndefined();
  });
});
