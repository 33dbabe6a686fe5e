// Parses iptables-save output into tables, chains and tokenised rules (no I/O), for reap, tidy and the inventory.

export interface SavedChain {
  readonly table: string;
  readonly name: string;
  /** `ACCEPT`/`DROP` for built-in chains, `-` for user chains. */
  readonly policy: string;
}

export interface SavedRule {
  readonly table: string;
  readonly chain: string;
  /** The rule's arguments after `-A <chain>`, unquoted, ready to pass to `iptables -D <chain>`. */
  readonly args: readonly string[];
}

export interface SavedRuleset {
  readonly chains: readonly SavedChain[];
  readonly rules: readonly SavedRule[];
}

/** Splits an iptables-save line into words the way iptables-restore does: double quotes group, `\` escapes. */
export function tokenize(line: string): string[] {
  const words: string[] = [];
  let word: string | undefined;
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line.charAt(i);
    if (c === '\\' && i + 1 < line.length) {
      word = (word ?? '') + line.charAt(++i);
    } else if (c === '"') {
      quoted = !quoted;
      word = word ?? '';
    } else if (!quoted && (c === ' ' || c === '\t')) {
      if (word !== undefined) words.push(word);
      word = undefined;
    } else {
      word = (word ?? '') + c;
    }
  }
  if (word !== undefined) words.push(word);
  return words;
}

export function parseIptablesSave(text: string): SavedRuleset {
  const chains: SavedChain[] = [];
  const rules: SavedRule[] = [];
  let table = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('*')) {
      table = line.slice(1);
    } else if (line.startsWith(':')) {
      const [name = '', policy = '-'] = line.slice(1).split(' ');
      chains.push({ table, name, policy });
    } else if (line.startsWith('-A ')) {
      const [, chain = '', ...args] = tokenize(line);
      rules.push({ table, chain, args });
    }
  }
  return { chains, rules };
}

/** True if the rule carries `-m comment --comment <tag>`. */
export function hasComment(rule: SavedRule, tag: string): boolean {
  return rule.args.some((arg, i) => arg === '--comment' && rule.args[i + 1] === tag);
}

/**
 * iptables-save without what changes by itself: comment lines (a header with the date) and packet/byte counters,
 * so two saves of the same rules compare equal.
 */
export function normalizeIptablesSave(text: string): string[] {
  return text
    .split('\n')
    .map((line) => line.trimEnd())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => line.replace(/\[\d+:\d+\]/g, '[0:0]').replace(/^\[0:0\] /, ''));
}
