// Removes everything of a box found on the host by its names, aliases and rule comments: after a crash, and as the
// last sweep of every teardown.
import type { BoxResources } from './discover.ts';
import { describeResources, findBoxResources, isEmpty } from './discover.ts';
import type { CommandError } from './errors.ts';
import { NetworkError } from './errors.ts';
import { tidyFilterTable } from './filter-table.ts';
import { BOX_NAME, bridgeName, MADE_OBJECTS, madeMarkerChainName } from './names.ts';
import { unmountRunNetns } from './netns-mount.ts';
import { tryRun } from './run.ts';

export interface ReapReport {
  /** What was found (and removed). */
  readonly found: BoxResources;
}

function isMarker(box: string, chain: string): boolean {
  return MADE_OBJECTS.some((what) => madeMarkerChainName(box, what) === chain);
}

/**
 * Removes everything of box `box` from this host: for a box whose owner crashed (or before reusing a fixed box
 * name). Idempotent: reaping a box that is not there does nothing. Rejects with `ERR_NETWORK_REAP` naming what is
 * left if something could not be removed.
 */
export function reapNetwork(box: string): Promise<ReapReport> {
  return reapBox(box, []);
}

/**
 * Removes the box's links (veths first, so the pairs go at once even if a process keeps a netns alive), its netns,
 * the rules tagged with its comment, its chains, and what its marker chains say it created (the /run/netns mount,
 * then iptables' filter table objects, whose emptiness the marker chains would spoil). Then checks that
 * nothing is left, and throws `ERR_NETWORK_REAP` naming what is, with the failed commands (and `earlierErrors`,
 * from the teardown commands run before) as the cause.
 */
export async function reapBox(box: string, earlierErrors: readonly CommandError[]): Promise<ReapReport> {
  if (!BOX_NAME.test(box)) {
    throw new NetworkError(
      'ERR_NETWORK_PLAN',
      `box name ${JSON.stringify(box)} must match ${BOX_NAME.source}`,
    );
  }
  const found = await findBoxResources(box);
  const errors: CommandError[] = [...earlierErrors];
  const attempt = async (argv: string[]) => {
    const err = await tryRun(argv);
    if (err !== undefined) errors.push(err);
  };
  const bridgesLast = [...found.links].sort(
    (a, b) => Number(a === bridgeName(box)) - Number(b === bridgeName(box)),
  );
  for (const link of bridgesLast) await attempt(['ip', 'link', 'del', 'dev', link]);
  for (const netns of found.netns) await attempt(['ip', 'netns', 'del', netns]);
  for (const rule of found.rules)
    await attempt(['iptables', '-w', '-t', rule.table, '-D', rule.chain, ...rule.args]);
  for (const chain of found.chains.filter((c) => !isMarker(box, c.name))) {
    await attempt(['iptables', '-w', '-t', chain.table, '-F', chain.name]);
    await attempt(['iptables', '-w', '-t', chain.table, '-X', chain.name]);
  }
  const netnsMarker = madeMarkerChainName(box, 'NETNSMNT');
  if (found.chains.some((c) => c.name === netnsMarker)) {
    const err = await unmountRunNetns();
    if (err !== undefined) errors.push(err);
    await attempt(['iptables', '-w', '-t', 'filter', '-X', netnsMarker]);
  }
  errors.push(...(await tidyFilterTable(box)));
  const left = await findBoxResources(box);
  if (!isEmpty(left)) {
    throw new NetworkError(
      'ERR_NETWORK_REAP',
      `box ${box} is not fully removed: ${describeResources(left)}`,
      {
        cause: new AggregateError(errors, errors.map((e) => e.message).join('; ')),
      },
    );
  }
  return { found };
}
