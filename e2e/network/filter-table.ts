// With iptables' nf_tables backend, the first rule brings the `filter` table and its base chains into existence;
// this records which of them the box created and removes them again when empty, so iptables-save ends as it began.
//
// Why it is safe:
//   1. A base chain is removed with `iptables -X`, which the kernel refuses (EBUSY) if the chain holds a rule,
//      and only when its policy is ACCEPT, i.e. when it filters nothing.
//   2. The table is removed with `nft delete table`, which would also remove chains made in between; so it is
//      only done when the box created the table (no one used iptables' filter table before the box), and only
//      when `nft` lists it empty. The window between that check and the delete is the one race left.
// With the legacy backend the tables always exist, so there is nothing to record or remove.
import type { MadeObject } from './names.ts';
import { madeMarkerChainName } from './names.ts';
import { iptables } from './commands.ts';
import type { CommandError } from './errors.ts';
import type { SavedRuleset } from './iptables-save.ts';
import { parseIptablesSave } from './iptables-save.ts';
import { onPath, run, tryRun } from './run.ts';

export const FILTER_OBJECTS: readonly MadeObject[] = ['TABLE', 'FORWARD', 'OUTPUT'];

export type IptablesBackend = 'nf_tables' | 'legacy';

export async function iptablesBackend(): Promise<IptablesBackend> {
  const { stdout } = await run(['iptables', '--version']);
  return stdout.includes('nf_tables') ? 'nf_tables' : 'legacy';
}

async function nftExists(...what: string[]): Promise<boolean> {
  return (await tryRun(['nft', 'list', ...what])) === undefined;
}

export interface FilterProbe {
  readonly backend: IptablesBackend;
  readonly missing: readonly MadeObject[];
  /** Set when the box cannot restore the table exactly (nf_tables without the `nft` tool). */
  readonly note?: string;
}

/** Which filter-table objects the guard is about to create. */
export async function probeFilterTable(): Promise<FilterProbe> {
  const backend = await iptablesBackend();
  if (backend === 'legacy') return { backend, missing: [] };
  if (!(await onPath('nft'))) {
    return {
      backend,
      missing: [],
      note: 'nft is not installed: an iptables filter table created by the box stays behind (empty) after teardown',
    };
  }
  if (!(await nftExists('table', 'ip', 'filter'))) return { backend, missing: [...FILTER_OBJECTS] };
  const missing: MadeObject[] = [];
  for (const chain of ['FORWARD', 'OUTPUT'] as const) {
    if (!(await nftExists('chain', 'ip', 'filter', chain))) missing.push(chain);
  }
  return { backend, missing };
}

interface NftListing {
  readonly nftables?: readonly Record<string, unknown>[];
}

/** True if `nft` lists the table with nothing in it (only the metainfo and table entries). */
async function filterTableEmpty(): Promise<boolean> {
  const { stdout } = await run(['nft', '-j', 'list', 'table', 'ip', 'filter']);
  const entries = (JSON.parse(stdout) as NftListing).nftables ?? [];
  return entries.every((e) => 'metainfo' in e || 'table' in e);
}

export interface TidyPlan {
  /** `iptables -X` of the marker chains, then of the base chains the box made that are empty and ACCEPT now. */
  readonly commands: readonly string[][];
  /** The box made the table: delete it if `nft` lists it empty after the commands. */
  readonly table: boolean;
}

/** Decides what to remove from iptables-save of the filter table, taken after the box's rules are gone. */
export function planTidy(box: string, saved: SavedRuleset): TidyPlan {
  const made = FILTER_OBJECTS.filter((what) =>
    saved.chains.some((c) => c.name === madeMarkerChainName(box, what)),
  );
  const commands = made.map((what) => iptables('-X', madeMarkerChainName(box, what)));
  for (const chain of ['FORWARD', 'OUTPUT'] as const) {
    if (!made.includes(chain)) continue;
    const policy = saved.chains.find((c) => c.name === chain)?.policy;
    const rules = saved.rules.filter((r) => r.chain === chain).length;
    if (policy === 'ACCEPT' && rules === 0) commands.push(iptables('-X', chain));
  }
  return { commands, table: made.includes('TABLE') };
}

/**
 * Removes the box's marker chains and what they say the box created, if it is empty now. Call after the box's
 * rules are gone. Returns the failures, which leave something behind but are not fatal.
 */
export async function tidyFilterTable(box: string): Promise<CommandError[]> {
  const tidy = planTidy(box, parseIptablesSave((await run(['iptables-save', '-t', 'filter'])).stdout));
  const errors: CommandError[] = [];
  const attempt = async (argv: readonly string[]) => {
    const err = await tryRun(argv);
    if (err !== undefined) errors.push(err);
  };
  for (const argv of tidy.commands) await attempt(argv);
  if (tidy.table && (await nftExists('table', 'ip', 'filter')) && (await filterTableEmpty())) {
    await attempt(['nft', 'delete', 'table', 'ip', 'filter']);
  }
  return errors;
}
