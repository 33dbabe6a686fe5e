// Test helper: packet counters of the box's guard rules (jumps and chain rules), read with `iptables-save -c`.
import { run } from '../run.ts';

/** `rule text without counters` → packets, for every filter-table rule carrying `tag`. */
export async function guardCounters(tag: string): Promise<Map<string, number>> {
  const { stdout } = await run(['iptables-save', '-c', '-t', 'filter']);
  const counters = new Map<string, number>();
  for (const line of stdout.split('\n')) {
    const match = /^\[(\d+):\d+\] (-A .*)$/.exec(line);
    if (match?.[1] !== undefined && match[2] !== undefined && match[2].includes(`"${tag}"`)) {
      counters.set(match[2], Number(match[1]));
    }
  }
  return counters;
}

/** The counter of the one rule whose text contains every fragment. */
export function counterOf(counters: Map<string, number>, ...fragments: string[]): number {
  const hits = [...counters].filter(([rule]) => fragments.every((f) => rule.includes(f)));
  if (hits.length !== 1) throw new Error(`expected one rule with ${fragments.join(' ')}, got ${hits.length}`);
  return hits[0]?.[1] ?? 0;
}
