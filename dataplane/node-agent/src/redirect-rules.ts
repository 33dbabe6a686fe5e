// The in-pod redirect as data: the iptables rules (mangle and nat) and the policy route that send a pod's TCP
// through its node's ztunnel, plus the pure reading of `iptables-save` that decides what applying or removing them
// has to change. No I/O here: `netns-rules.ts` runs what these functions return inside the pod's netns.
//
// The rules are Istio's in-pod TPROXY mode (istio-cni `AppendInpodRules` before 1.25, golden `tproxy.golden`), with
// our own chain names and without DNS capture. Each requirement and the rule that meets it:
//  1. Packets from the ztunnel's own sockets carry `proxyMark` (0x539, SO_MARK) and are never captured: every
//     capturing rule has `-m mark ! --mark 0x539/0xfff`.
//  2. Inbound TCP to the HBONE port (15008) is TPROXYed to the ztunnel's 15008 listener; any other inbound TCP to
//     15006 (plaintext). TPROXY sets `tproxyMark` (0x111), and `ip rule fwmark 0x111/0xfff lookup 100` with
//     `local 0.0.0.0/0 dev lo table 100` makes the kernel deliver such packets locally whatever their destination.
//  3. Outbound TCP is REDIRECTed (nat OUTPUT) to 15001, except to loopback (`! -d 127.0.0.1/32`, and traffic leaving
//     through `lo` to the pod's own address: a pod calling itself is not meshed).
//  4. Kubelet probes arrive from `probeSourceIp` (169.254.7.127, the node's probe SNAT address) and are accepted
//     before any capture; connections the pod opens to that address are not redirected either.
//  5. Return traffic is never re-captured: `conntrack --ctstate RELATED,ESTABLISHED` is accepted before the 15006
//     catch-all, so replies to the ztunnel's outbound connections pass; and a connection the ztunnel opens to the app
//     with a spoofed source (mark 0x539, over `lo`) gets connmark 0x111, which mangle OUTPUT restores onto the app's
//     replies so that rule 2's route brings them back to the ztunnel's transparent socket instead of the network.
//  6. Nothing is captured twice: an app connection REDIRECTed to 15001 reaches PREROUTING on `lo` with destination
//     127.0.0.1, which no rule captures; the ztunnel's own connections carry 0x539 (rule 1); replies marked 0x111 are
//     accepted in nat OUTPUT before the REDIRECT; and HBONE's 15008 is matched before the 15006 catch-all, so it
//     is delivered to its own listener only.
//
// Rules live in dedicated chains (AMBIT_PRERT, AMBIT_OUTPUT) reached by one jump each from the built-in chains, so
// removal is exact: delete the jumps, flush and delete the chains. With the nf_tables backend a table that did not
// exist before is recorded by an empty marker chain (AMBIT_MADE) and deleted again on removal when nothing else
// lives in it, so `iptables-save` after removal equals the output before apply.

/** Where the rules go; every field has Istio's value as its default (DEFAULT_REDIRECT_CONFIG). */
export interface RedirectConfig {
  /** SO_MARK on the ztunnel's sockets in the pod netns; ztunnel's `inpod_mark`. @default 0x539 (1337) */
  readonly proxyMark: number;
  /** @default 0xfff */
  readonly proxyMask: number;
  /** Set by TPROXY on captured inbound packets and routed locally. @default 0x111 */
  readonly tproxyMark: number;
  /** @default 0xfff */
  readonly tproxyMask: number;
  /** Masks for `CONNMARK --restore-mark`. @default 0xffffffff */
  readonly restoreMask: number;
  /** Routing table holding `local 0.0.0.0/0 dev lo`. @default 100 */
  readonly routeTable: number;
  /** Priority of the fwmark rule, before `main` (32766). @default 32764 */
  readonly rulePriority: number;
  /** @default 15001 */
  readonly outboundPort: number;
  /** @default 15006 */
  readonly inboundPlaintextPort: number;
  /** @default 15008 */
  readonly hbonePort: number;
  /** The source address of kubelet probes (the node agent's host-side SNAT address in Istio). @default '169.254.7.127' */
  readonly probeSourceIp: string;
  /** @default 'AMBIT_PRERT' */
  readonly preroutingChain: string;
  /** @default 'AMBIT_OUTPUT' */
  readonly outputChain: string;
  /** Empty chain recording that we created the table. @default 'AMBIT_MADE' */
  readonly markerChain: string;
}

export const DEFAULT_REDIRECT_CONFIG: RedirectConfig = Object.freeze({
  proxyMark: 0x539,
  proxyMask: 0xfff,
  tproxyMark: 0x111,
  tproxyMask: 0xfff,
  restoreMask: 0xffffffff,
  routeTable: 100,
  rulePriority: 32764,
  outboundPort: 15001,
  inboundPlaintextPort: 15006,
  hbonePort: 15008,
  probeSourceIp: '169.254.7.127',
  preroutingChain: 'AMBIT_PRERT',
  outputChain: 'AMBIT_OUTPUT',
  markerChain: 'AMBIT_MADE',
});

export type RedirectRulesErrorCode = 'ERR_REDIRECT_CONFIG' | 'ERR_IPTABLES_SAVE_PARSE';

export class RedirectRulesError extends Error {
  readonly code: RedirectRulesErrorCode;
  constructor(code: RedirectRulesErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'RedirectRulesError';
    this.code = code;
  }
}

/** iptables chain names are at most 28 characters (XT_EXTENSION_MAXNAMELEN - 1). */
const CHAIN_NAME = /^[A-Za-z0-9_-]{1,28}$/;
const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

/** DEFAULT_REDIRECT_CONFIG with `overrides`, validated, so a bad value fails here and not halfway into a netns. */
export function redirectConfig(overrides: Partial<RedirectConfig> = {}): RedirectConfig {
  const c: RedirectConfig = { ...DEFAULT_REDIRECT_CONFIG, ...overrides };
  const bad = (what: string): never => {
    throw new RedirectRulesError('ERR_REDIRECT_CONFIG', `invalid redirect config: ${what}`);
  };
  for (const k of ['outboundPort', 'inboundPlaintextPort', 'hbonePort'] as const) {
    if (!Number.isInteger(c[k]) || c[k] < 1 || c[k] > 65535) bad(`${k} ${c[k]} is not a port`);
  }
  if (new Set([c.outboundPort, c.inboundPlaintextPort, c.hbonePort]).size !== 3)
    bad('the three ports must differ');
  for (const k of ['proxyMark', 'proxyMask', 'tproxyMark', 'tproxyMask', 'restoreMask'] as const) {
    if (!Number.isInteger(c[k]) || c[k] < 0 || c[k] > 0xffffffff) bad(`${k} is not a 32-bit value`);
  }
  if ((c.proxyMark & ~c.proxyMask) !== 0) bad('proxyMark has bits outside proxyMask');
  if ((c.tproxyMark & ~c.tproxyMask) !== 0) bad('tproxyMark has bits outside tproxyMask');
  if ((c.proxyMark & c.proxyMask) === (c.tproxyMark & c.proxyMask)) bad('proxyMark and tproxyMark are equal');
  if (!Number.isInteger(c.routeTable) || c.routeTable < 1 || c.routeTable > 252)
    bad('routeTable not in 1..252');
  if (!Number.isInteger(c.rulePriority) || c.rulePriority < 1 || c.rulePriority > 32765) {
    bad('rulePriority must come before main (1..32765)');
  }
  if (!IPV4.test(c.probeSourceIp)) bad(`probeSourceIp ${c.probeSourceIp} is not an IPv4 address`);
  const chains = [c.preroutingChain, c.outputChain, c.markerChain];
  for (const ch of chains) if (!CHAIN_NAME.test(ch)) bad(`chain name ${JSON.stringify(ch)}`);
  if (new Set(chains).size !== chains.length) bad('chain names must differ');
  return c;
}

const hex = (n: number): string => `0x${n.toString(16)}`;

export type TableName = 'mangle' | 'nat';
export type BuiltinChain = 'PREROUTING' | 'OUTPUT';

/** One table's share of the redirect: jumps from built-in chains into our chains, and our chains' rules. */
export interface TableRules {
  readonly table: TableName;
  /** `-A <from> -j <to>` lines, in iptables-save's canonical form. */
  readonly jumps: readonly { readonly from: BuiltinChain; readonly to: string }[];
  /** Our chains with their rules as `iptables-save` prints them (`-A <chain> ...`), in order. */
  readonly chains: readonly { readonly name: string; readonly rules: readonly string[] }[];
}

/**
 * The rules of the in-pod redirect, in `iptables-save`'s canonical spelling (`/32` on addresses, `--on-ip 0.0.0.0`,
 * options in its order), so that checking is a string comparison against what the kernel reports. The numbers in
 * the comments are the invariants of the module header.
 */
export function redirectRules(c: RedirectConfig = DEFAULT_REDIRECT_CONFIG): readonly TableRules[] {
  const proxy = `${hex(c.proxyMark)}/${hex(c.proxyMask)}`;
  const tproxy = `${hex(c.tproxyMark)}/${hex(c.tproxyMask)}`;
  const notProxy = `-m mark ! --mark ${proxy}`;
  const pre = `-A ${c.preroutingChain}`;
  const out = `-A ${c.outputChain}`;
  return [
    {
      table: 'mangle',
      jumps: [
        { from: 'PREROUTING', to: c.preroutingChain },
        { from: 'OUTPUT', to: c.outputChain },
      ],
      chains: [
        {
          name: c.preroutingChain,
          rules: [
            // 5: the ztunnel's connection to the app over lo: remember it so the replies find their way back.
            `${pre} -m mark --mark ${proxy} -j CONNMARK --set-xmark ${tproxy}`,
            // 4: kubelet probes.
            `${pre} -s ${c.probeSourceIp}/32 -p tcp -m tcp -j ACCEPT`,
            // 3: the pod talking to itself over lo.
            `${pre} ! -d 127.0.0.1/32 -i lo -p tcp -j ACCEPT`,
            // 2, 6: HBONE to its own listener, before the established short-cut so every segment finds it.
            `${pre} -p tcp -m tcp --dport ${c.hbonePort} ${notProxy} -j TPROXY --on-port ${c.hbonePort} --on-ip 0.0.0.0 --tproxy-mark ${tproxy}`,
            // 5: replies to connections opened from inside the pod.
            `${pre} -p tcp -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT`,
            // 2: everything else inbound, plaintext.
            `${pre} ! -d 127.0.0.1/32 -p tcp ${notProxy} -j TPROXY --on-port ${c.inboundPlaintextPort} --on-ip 0.0.0.0 --tproxy-mark ${tproxy}`,
          ],
        },
        {
          name: c.outputChain,
          rules: [
            // 5: the app's replies on a connection the ztunnel spoofed into it go back to the ztunnel.
            `${out} -m connmark --mark ${tproxy} -j CONNMARK --restore-mark --nfmask ${hex(c.restoreMask)} --ctmask ${hex(c.restoreMask)}`,
          ],
        },
      ],
    },
    {
      table: 'nat',
      jumps: [{ from: 'OUTPUT', to: c.outputChain }],
      chains: [
        {
          name: c.outputChain,
          rules: [
            // 4: answers to probes, and anything the pod sends to the probe address.
            `${out} -d ${c.probeSourceIp}/32 -p tcp -m tcp -j ACCEPT`,
            // 5, 6: traffic marked for the ztunnel's transparent sockets.
            `${out} -p tcp -m mark --mark ${tproxy} -j ACCEPT`,
            // 3: the pod calling its own address.
            `${out} ! -d 127.0.0.1/32 -o lo -j ACCEPT`,
            // 1, 3: the app's outbound TCP.
            `${out} ! -d 127.0.0.1/32 -p tcp ${notProxy} -j REDIRECT --to-ports ${c.outboundPort}`,
          ],
        },
      ],
    },
  ];
}

// ---- reading iptables-save --------------------------------------------------------------------------------------

/** One table as `iptables-save` prints it. */
export interface SavedTable {
  /** Every chain declared (`:NAME POLICY [p:b]`), built-in ones with their policy, user chains with `-`. */
  readonly chains: ReadonlyMap<string, string>;
  /** The `-A ...` lines, in order. */
  readonly rules: readonly string[];
}

export interface SavedRuleset {
  /** `iptables-save` said `(nf_tables)`: tables come and go (legacy tables exist while their module is loaded). */
  readonly nftables: boolean;
  readonly tables: ReadonlyMap<string, SavedTable>;
}

/** Parses `iptables-save` output (comments, `*table`, `:chain`, `-A`, `COMMIT`). */
export function parseIptablesSave(text: string): SavedRuleset {
  const tables = new Map<string, { chains: Map<string, string>; rules: string[] }>();
  let nftables = false;
  let current: { chains: Map<string, string>; rules: string[] } | undefined;
  const fail = (n: number, why: string): never => {
    throw new RedirectRulesError('ERR_IPTABLES_SAVE_PARSE', `iptables-save line ${n}: ${why}`);
  };
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line === '') return;
    if (line.startsWith('#')) {
      if (line.includes('(nf_tables)')) nftables = true;
      return;
    }
    if (line.startsWith('*')) {
      const name = line.slice(1).trim();
      current = tables.get(name) ?? { chains: new Map(), rules: [] };
      tables.set(name, current);
      return;
    }
    if (current === undefined) return fail(i + 1, 'content outside a table');
    if (line === 'COMMIT') {
      current = undefined;
      return;
    }
    if (line.startsWith(':')) {
      const [name, policy] = line.slice(1).split(/\s+/);
      if (name === undefined || policy === undefined) return fail(i + 1, 'malformed chain declaration');
      current.chains.set(name, policy);
      return;
    }
    if (line.startsWith('-A ')) {
      current.rules.push(line.replace(/\s+/g, ' '));
      return;
    }
    fail(i + 1, `unexpected ${JSON.stringify(line.slice(0, 40))}`);
  });
  return { nftables, tables };
}

const jumpLine = (j: { from: string; to: string }): string => `-A ${j.from} -j ${j.to}`;
const chainOfRule = (rule: string): string => rule.split(' ')[1] ?? '';

/** What is in place in one netns, compared with redirectRules(). */
export interface RedirectInspection {
  /** Every jump once, every chain with exactly the expected rules, the route and the rule present. */
  readonly complete: boolean;
  /** Nothing of ours: no jump, no chain, no marker, no fwmark rule, no local route in our table. */
  readonly absent: boolean;
  /** Human-readable differences, empty when complete. */
  readonly problems: readonly string[];
}

/** Facts about `ip rule` / `ip route` as routingFacts() reads them from `ip -j` output. */
export interface RoutingFacts {
  readonly markRule: boolean;
  readonly localRoute: boolean;
}

/** Compares a netns's state with the desired one. */
export function inspectRedirect(
  saved: SavedRuleset,
  routing: RoutingFacts,
  c: RedirectConfig = DEFAULT_REDIRECT_CONFIG,
): RedirectInspection {
  const problems: string[] = [];
  let anyOurs = routing.markRule || routing.localRoute;
  for (const t of redirectRules(c)) {
    const table = saved.tables.get(t.table);
    const rules = table?.rules ?? [];
    if (table?.chains.has(c.markerChain) === true) anyOurs = true;
    for (const j of t.jumps) {
      const n = rules.filter((r) => r === jumpLine(j)).length;
      if (n > 0) anyOurs = true;
      if (n !== 1) problems.push(`${t.table}: ${n} jumps ${j.from} -> ${j.to}, want 1`);
    }
    for (const ch of t.chains) {
      if (table?.chains.has(ch.name) !== true) {
        problems.push(`${t.table}: chain ${ch.name} missing`);
        continue;
      }
      anyOurs = true;
      const have = rules.filter((r) => chainOfRule(r) === ch.name);
      if (have.join('\n') !== ch.rules.join('\n')) {
        problems.push(
          `${t.table}: chain ${ch.name} has ${have.length} rules differing from the ${ch.rules.length} expected`,
        );
      }
    }
  }
  if (!routing.markRule) problems.push(`ip rule fwmark ${hex(c.tproxyMark)}/${hex(c.tproxyMask)} missing`);
  if (!routing.localRoute) problems.push(`local default route in table ${c.routeTable} missing`);
  return { complete: problems.length === 0, absent: !anyOurs, problems };
}

/**
 * The `iptables-restore --noflush` input that makes the rules exactly right from any state (none, partial, stale):
 * 1. declaring `:CHAIN - [0:0]` creates our chain or, under --noflush, empties it, so its rules are rewritten whole;
 * 2. a jump is appended only when missing, and surplus copies deleted;
 * 3. a table that does not exist yet gets the marker chain (nf_tables only), so removal can delete it again.
 * One restore is one transaction: a pod never sees half a rule set.
 */
export function applyRestoreInput(saved: SavedRuleset, c: RedirectConfig = DEFAULT_REDIRECT_CONFIG): string {
  let text = '';
  for (const t of redirectRules(c)) {
    const table = saved.tables.get(t.table);
    const rules = table?.rules ?? [];
    text += `*${t.table}\n`;
    if (table === undefined && saved.nftables) text += `:${c.markerChain} - [0:0]\n`;
    for (const ch of t.chains) text += `:${ch.name} - [0:0]\n`;
    for (const j of t.jumps) {
      const n = rules.filter((r) => r === jumpLine(j)).length;
      if (n === 0) text += `${jumpLine(j)}\n`;
      for (let k = 1; k < n; k++) text += `-D ${j.from} -j ${j.to}\n`;
    }
    for (const ch of t.chains) for (const r of ch.rules) text += `${r}\n`;
    text += 'COMMIT\n';
  }
  return text;
}

export interface RemovalPlan {
  /** `iptables-restore --noflush` input, or undefined when no table holds anything of ours. */
  readonly restore: string | undefined;
  /**
   * Tables we created (marker present): delete them after the restore if tablePristine() still holds. Only ever
   * non-empty on nf_tables.
   */
  readonly dropIfPristine: readonly TableName[];
}

/** Removes jumps, chains and marker, whatever subset of them exists. */
export function removalPlan(saved: SavedRuleset, c: RedirectConfig = DEFAULT_REDIRECT_CONFIG): RemovalPlan {
  let text = '';
  const drop: TableName[] = [];
  for (const t of redirectRules(c)) {
    const table = saved.tables.get(t.table);
    if (table === undefined) continue;
    let body = '';
    for (const j of t.jumps) {
      const n = table.rules.filter((r) => r === jumpLine(j)).length;
      for (let k = 0; k < n; k++) body += `-D ${j.from} -j ${j.to}\n`;
    }
    const ours = t.chains.map((ch) => ch.name).filter((name) => table.chains.has(name));
    // Declaring flushes (under --noflush), so the delete that follows cannot fail on a non-empty chain.
    for (const name of ours) body += `:${name} - [0:0]\n`;
    for (const name of ours) body += `-X ${name}\n`;
    if (table.chains.has(c.markerChain)) {
      body += `-X ${c.markerChain}\n`;
      if (saved.nftables) drop.push(t.table);
    }
    if (body !== '') text += `*${t.table}\n${body}COMMIT\n`;
  }
  return { restore: text === '' ? undefined : text, dropIfPristine: drop };
}

/**
 * True when a table holds nothing at all: no rules, no user chains, every built-in policy ACCEPT. Deleting such a
 * table changes no packet's fate, and is what makes `iptables-save` print what it printed before we came.
 */
export function tablePristine(table: SavedTable | undefined): boolean {
  if (table === undefined) return true;
  if (table.rules.length > 0) return false;
  for (const policy of table.chains.values()) if (policy !== 'ACCEPT') return false;
  return true;
}

// ---- ip rule / ip route -----------------------------------------------------------------------------------------

/** `ip rule <verb> fwmark 0x111/0xfff pref 32764 lookup 100`. */
export function ipRuleArgs(verb: 'add' | 'del', c: RedirectConfig = DEFAULT_REDIRECT_CONFIG): string[] {
  return [
    'rule',
    verb,
    'fwmark',
    `${hex(c.tproxyMark)}/${hex(c.tproxyMask)}`,
    'pref',
    String(c.rulePriority),
    'lookup',
    String(c.routeTable),
  ];
}

/** `ip route <verb> local 0.0.0.0/0 dev lo table 100` (`replace` is idempotent; `del` fails when absent). */
export function ipRouteArgs(verb: 'replace' | 'del', c: RedirectConfig = DEFAULT_REDIRECT_CONFIG): string[] {
  return ['route', verb, 'local', '0.0.0.0/0', 'dev', 'lo', 'table', String(c.routeTable)];
}

function jsonArray(text: string, what: string): Record<string, unknown>[] {
  if (text.trim() === '') return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new RedirectRulesError('ERR_IPTABLES_SAVE_PARSE', `${what} is not JSON`, { cause: err });
  }
  if (!Array.isArray(parsed))
    throw new RedirectRulesError('ERR_IPTABLES_SAVE_PARSE', `${what} is not a JSON array`);
  return parsed.filter((e): e is Record<string, unknown> => typeof e === 'object' && e !== null);
}

/** Reads `ip -j rule list` and `ip -j route show table <routeTable>` output. */
export function routingFacts(
  ipRuleJson: string,
  ipRouteJson: string,
  c: RedirectConfig = DEFAULT_REDIRECT_CONFIG,
): RoutingFacts {
  const num = (v: unknown): number | undefined =>
    typeof v === 'number' ? v : typeof v === 'string' && v !== '' ? Number(v) : undefined;
  const markRule = jsonArray(ipRuleJson, 'ip -j rule').some(
    (r) =>
      num(r.priority) === c.rulePriority &&
      num(r.fwmark) === c.tproxyMark &&
      num(r.fwmask ?? '0xffffffff') === c.tproxyMask &&
      String(r.table) === String(c.routeTable),
  );
  const localRoute = jsonArray(ipRouteJson, 'ip -j route').some(
    (r) => r.type === 'local' && (r.dst === 'default' || r.dst === '0.0.0.0/0') && r.dev === 'lo',
  );
  return { markRule, localRoute };
}
