// Which workload and service ids changed in each config version, so a subscriber's delta is computed from the ids
// that changed since the version it holds rather than by comparing every record (issue 4, per-node scoping at
// scale). The big maps (every workload, every service) are the ones each ztunnel receives whole; the other kinds
// are small per subscriber and are compared in full.
import { recordLineage } from './record-index.ts';
import type { FullConfig } from './scope.ts';

/** The kinds whose changes are journaled. */
export const JOURNALED = ['workloads', 'services'] as const;
export type JournaledKind = (typeof JOURNALED)[number];

/** Ids that may differ between two versions, per kind (a superset of the real changes, never a subset). */
export type Touched = Readonly<Record<JournaledKind, ReadonlySet<string>>>;

/**
 * Ids whose record is not the same object in `next` as in `previous`, or is in only one of them. Translation
 * reuses the record objects of unchanged inputs, so this is close to the real change set; a new object with equal
 * content is still compared by value later, so a superset costs a comparison, never a spurious push.
 */
export function touchedIds<T>(previous: ReadonlyMap<string, T>, next: ReadonlyMap<string, T>): Set<string> {
  const out = new Set<string>();
  if (previous === next) return out;
  let added = 0;
  for (const [id, record] of next) {
    const old = previous.get(id);
    if (old === record) continue;
    out.add(id);
    if (old === undefined && !previous.has(id)) added += 1;
  }
  // Some ids of `previous` are gone exactly when it has more than the ids `next` kept from it.
  if (previous.size > next.size - added) for (const id of previous.keys()) if (!next.has(id)) out.add(id);
  return out;
}

export interface ChangeJournalOptions {
  /** Versions kept; a subscriber further behind gets a full comparison instead. @default 256 */
  readonly capacity?: number;
}

export class ChangeJournal {
  readonly #capacity: number;
  /** Ascending by version. */
  readonly #entries: { readonly version: number; readonly touched: Touched }[] = [];
  /** The newest version recorded (kept when pruning empties the journal). */
  #latest = 0;

  constructor(opts: ChangeJournalOptions = {}) {
    this.#capacity = opts.capacity ?? 256;
  }

  /** Records what changed from `previous` to `next` (version `version`) and links the maps' lineage for indexes. */
  record(version: number, previous: FullConfig, next: FullConfig): Touched {
    const touched = {
      workloads: touchedIds(previous.workloads, next.workloads),
      services: touchedIds(previous.services, next.services),
    };
    recordLineage(previous.workloads, next.workloads, touched.workloads);
    recordLineage(previous.services, next.services, touched.services);
    this.#entries.push({ version, touched });
    this.#latest = version;
    if (this.#entries.length > this.#capacity) this.#entries.shift();
    return touched;
  }

  /**
   * Every id that may have changed after version `from` up to the newest, or `undefined` when the journal no
   * longer reaches back that far (the caller compares in full).
   */
  since(from: number): Touched | undefined {
    if (from >= this.#latest) return EMPTY_TOUCHED;
    const first = this.#entries[0];
    if (!first || first.version > from + 1) return undefined;
    const pending = this.#entries.filter((e) => e.version > from);
    if (pending.length === 1) return pending[0]!.touched;
    const union = { workloads: new Set<string>(), services: new Set<string>() };
    for (const e of pending) {
      for (const kind of JOURNALED) for (const id of e.touched[kind]) union[kind].add(id);
    }
    return union;
  }

  /** Forgets versions up to and including `version` (no subscriber counts from before it any more). */
  prune(version: number): void {
    while (this.#entries.length > 0 && this.#entries[0]!.version <= version) this.#entries.shift();
  }

  get size(): number {
    return this.#entries.length;
  }
}

const EMPTY_TOUCHED: Touched = { workloads: new Set(), services: new Set() };
