// Finds everything of a box on the host by its names, link aliases and rule comments: what reap removes.
import type { SavedChain, SavedRule } from './iptables-save.ts';
import { hasComment, parseIptablesSave } from './iptables-save.ts';
import { boxTag, isBoxChain, isBoxLinkName, netnsPrefix } from './names.ts';
import { run } from './run.ts';

export interface BoxResources {
  readonly netns: readonly string[];
  /** Host links named like the box's or carrying its alias. */
  readonly links: readonly string[];
  /** Rules carrying the box's comment, in chains that are not the box's own. */
  readonly rules: readonly SavedRule[];
  /** The box's own chains (guard and markers), in any table. */
  readonly chains: readonly SavedChain[];
}

interface IpLink {
  readonly ifname?: string;
  readonly ifalias?: string;
}

/** Names from `ip netns list` ("name" or "name (id: 3)" per line). */
export function parseNetnsList(text: string): string[] {
  return text
    .split('\n')
    .map((line) => line.trim().split(' ')[0] ?? '')
    .filter((name) => name !== '');
}

/** `{ name, alias }` from `ip -j link show`. */
export function parseIpLinkJson(text: string): { name: string; alias: string | undefined }[] {
  if (text.trim() === '') return [];
  const links = JSON.parse(text) as IpLink[];
  return links.map((l) => ({ name: l.ifname ?? '', alias: l.ifalias }));
}

/** Picks the box's things out of the three listings (pure, so the matching is unit-tested). */
export function selectBoxResources(
  box: string,
  listings: { netns: string; links: string; iptablesSave: string },
): BoxResources {
  const tag = boxTag(box);
  const saved = parseIptablesSave(listings.iptablesSave);
  return {
    netns: parseNetnsList(listings.netns).filter((n) => n.startsWith(netnsPrefix(box))),
    links: parseIpLinkJson(listings.links)
      .filter((l) => l.alias === tag || isBoxLinkName(box, l.name))
      .map((l) => l.name),
    rules: saved.rules.filter((r) => hasComment(r, tag) && !isBoxChain(box, r.chain)),
    chains: saved.chains.filter((c) => isBoxChain(box, c.name)),
  };
}

export async function listHost(): Promise<{ netns: string; links: string; iptablesSave: string }> {
  const [netns, links, save] = await Promise.all([
    run(['ip', 'netns', 'list']),
    run(['ip', '-j', 'link', 'show']),
    run(['iptables-save']),
  ]);
  return { netns: netns.stdout, links: links.stdout, iptablesSave: save.stdout };
}

export async function findBoxResources(box: string): Promise<BoxResources> {
  return selectBoxResources(box, await listHost());
}

export function isEmpty(r: BoxResources): boolean {
  return r.netns.length + r.links.length + r.rules.length + r.chains.length === 0;
}

/** One line per thing, for error messages. */
export function describeResources(r: BoxResources): string {
  return [
    ...r.netns.map((n) => `netns ${n}`),
    ...r.links.map((l) => `link ${l}`),
    ...r.chains.map((c) => `chain ${c.table}/${c.name}`),
    ...r.rules.map((x) => `rule ${x.table}/${x.chain} ${x.args.join(' ')}`),
  ].join(', ');
}
