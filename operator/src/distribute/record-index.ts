// Secondary indexes over the translated record maps (workloads by node, by waypoint; services by waypoint), so a
// proxy's scope is computed from the records that concern it instead of a walk over every record (issue 4: at
// 200k workloads and 1,000 ztunnels a walk per subscriber per push costs seconds).
//
// Record maps are immutable and replaced by each translation. An index is built once per map and cached by the
// map's identity; when the config server records that a new map follows an indexed one and which ids may differ
// (`recordLineage`), the new index is derived from the old one in O(changed ids) instead of rebuilt.

/** Which ids may differ between a map and the one it follows (a superset is fine, never a subset). */
export interface Lineage<T> {
  readonly previous: ReadonlyMap<string, T>;
  readonly touched: Iterable<string>;
}

// The maps are immutable: a WeakMap keyed by them never serves a stale entry, and lets old versions be collected.
const lineages = new WeakMap<ReadonlyMap<string, unknown>, Lineage<unknown>>();

/** Records that `next` follows `previous` and differs from it at most at `touched`. */
export function recordLineage<T>(
  previous: ReadonlyMap<string, T>,
  next: ReadonlyMap<string, T>,
  touched: Iterable<string>,
): void {
  if (previous !== next) lineages.set(next, { previous, touched });
}

/** Groups of records by a key (`undefined`: in no group); each group maps id → record. */
export type Groups<T> = ReadonlyMap<string, ReadonlyMap<string, T>>;

const EMPTY: ReadonlyMap<string, never> = new Map<string, never>();

export class RecordIndex<T> {
  readonly #keyOf: (record: T) => string | undefined;
  readonly #cache = new WeakMap<ReadonlyMap<string, T>, Groups<T>>();

  constructor(keyOf: (record: T) => string | undefined) {
    this.#keyOf = keyOf;
  }

  /** The records of `map` whose key is `key`. */
  group(map: ReadonlyMap<string, T>, key: string): ReadonlyMap<string, T> {
    return this.groups(map).get(key) ?? EMPTY;
  }

  groups(map: ReadonlyMap<string, T>): Groups<T> {
    let groups = this.#cache.get(map);
    if (groups) return groups;
    const lineage = lineages.get(map) as Lineage<T> | undefined;
    const before = lineage && this.#cache.get(lineage.previous);
    groups = before && lineage ? this.#derive(before, lineage, map) : this.#build(map);
    this.#cache.set(map, groups);
    return groups;
  }

  #build(map: ReadonlyMap<string, T>): Groups<T> {
    const out = new Map<string, Map<string, T>>();
    for (const [id, record] of map) {
      const k = this.#keyOf(record);
      if (k === undefined) continue;
      let g = out.get(k);
      if (!g) out.set(k, (g = new Map<string, T>()));
      g.set(id, record);
    }
    return out;
  }

  /** Copy-on-write: only the groups a touched record leaves or joins are copied. */
  #derive(before: Groups<T>, lineage: Lineage<T>, map: ReadonlyMap<string, T>): Groups<T> {
    const out = new Map(before);
    const copied = new Set<string>();
    const writable = (k: string): Map<string, T> => {
      const current = out.get(k);
      if (copied.has(k) && current) return current as Map<string, T>;
      copied.add(k);
      const g = new Map(current ?? EMPTY);
      out.set(k, g);
      return g;
    };
    for (const id of lineage.touched) {
      const old = lineage.previous.get(id);
      const now = map.get(id);
      if (old === now) continue;
      const oldKey = old === undefined ? undefined : this.#keyOf(old);
      const newKey = now === undefined ? undefined : this.#keyOf(now);
      if (oldKey !== undefined && oldKey !== newKey) writable(oldKey).delete(id);
      if (newKey !== undefined && now !== undefined) writable(newKey).set(id, now);
    }
    for (const k of copied) if (out.get(k)?.size === 0) out.delete(k);
    return out;
  }
}
