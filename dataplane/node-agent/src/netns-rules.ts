// Applies, removes and checks the in-pod redirect (redirect-rules.ts) inside one pod network namespace, given the
// path of its netns file, by running iptables-save/iptables-restore/ip under `nsenter --net=<path>`.
//
// Every operation reads the current state first and changes only what differs, so:
//  1. apply on a netns that already has the exact rules runs no write at all;
//  2. remove on a netns without our rules (or without the netns: the pod is gone) succeeds;
//  3. remove after apply leaves `iptables-save`, `ip rule` and `ip route show table all` as they were before apply.
// Callers serialise operations per netns (the agent reconciles one pod at a time): two concurrent applies on one
// netns would each see the other's half-written state.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import {
  DEFAULT_REDIRECT_CONFIG,
  applyRestoreInput,
  inspectRedirect,
  ipRouteArgs,
  ipRuleArgs,
  parseIptablesSave,
  removalPlan,
  routingFacts,
  tablePristine,
  type RedirectConfig,
  type RedirectInspection,
  type SavedRuleset,
} from './redirect-rules.ts';

export type NetnsRulesErrorCode = 'ERR_NETNS_MISSING' | 'ERR_NETNS_COMMAND' | 'ERR_REDIRECT_INCOMPLETE';

export class NetnsRulesError extends Error {
  readonly code: NetnsRulesErrorCode;
  constructor(code: NetnsRulesErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'NetnsRulesError';
    this.code = code;
  }
}

/** Runs a program and returns its stdout; rejects with the exit status and stderr. Swappable in tests. */
export type CommandRunner = (file: string, args: readonly string[], stdin?: string) => Promise<string>;

export const execRunner: CommandRunner = (file, args, stdin) =>
  new Promise((resolve, reject) => {
    const child = execFile(
      file,
      [...args],
      { encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => {
        if (err === null) {
          resolve(stdout);
          return;
        }
        const detail = stderr.trim() || err.message;
        reject(
          new NetnsRulesError('ERR_NETNS_COMMAND', `${file} ${args.join(' ')}: ${detail}`, { cause: err }),
        );
      },
    );
    // A program that exits without reading stdin (an early error) closes the pipe: its exit status tells why.
    child.stdin?.on('error', () => undefined);
    child.stdin?.end(stdin ?? '');
  });

/** nsenter exits 127 when it cannot exec the program (`nsenter: failed to execute nft`). */
function isMissingProgram(err: unknown): boolean {
  const cause = err instanceof Error ? (err.cause as { code?: unknown } | undefined) : undefined;
  return cause?.code === 127 || cause?.code === 'ENOENT';
}

export interface NetnsRulesOptions {
  /** @default DEFAULT_REDIRECT_CONFIG */
  readonly config?: RedirectConfig;
  /** @default execRunner */
  readonly run?: CommandRunner;
  /** @default 'nsenter' */
  readonly nsenter?: string;
}

/** What apply/remove did: `unchanged` means no write was needed. */
export type RulesOutcome = 'changed' | 'unchanged';

/** The in-pod redirect for netns files, bound to one config and runner. */
export class NetnsRules {
  readonly #c: RedirectConfig;
  readonly #run: CommandRunner;
  readonly #nsenter: string;

  constructor(o: NetnsRulesOptions = {}) {
    this.#c = o.config ?? DEFAULT_REDIRECT_CONFIG;
    this.#run = o.run ?? execRunner;
    this.#nsenter = o.nsenter ?? 'nsenter';
  }

  #in(netns: string, file: string, args: readonly string[], stdin?: string): Promise<string> {
    return this.#run(this.#nsenter, [`--net=${netns}`, '--', file, ...args], stdin);
  }

  #nft: Promise<boolean> | undefined;

  /**
   * iptables-save of a netns without tables prints nothing, not even its `(nf_tables)` header, so the backend is
   * asked once from `iptables --version` (the same binary runs in every netns).
   */
  async #saved(netns: string): Promise<SavedRuleset> {
    this.#nft ??= this.#run('iptables', ['--version']).then((v) => v.includes('nf_tables'));
    const saved = parseIptablesSave(await this.#in(netns, 'iptables-save', []));
    return { ...saved, nftables: saved.nftables || (await this.#nft) };
  }

  async #routing(netns: string) {
    const rules = await this.#in(netns, 'ip', ['-j', 'rule', 'list']);
    const routes = await this.#in(netns, 'ip', [
      '-j',
      'route',
      'show',
      'table',
      String(this.#c.routeTable),
    ]).catch((err: unknown) => {
      // A table without routes does not exist at all: that is "no route", not a failure.
      if (err instanceof Error && err.message.includes('FIB table does not exist')) return '';
      throw err;
    });
    return routingFacts(rules, routes, this.#c);
  }

  #requireNetns(netns: string): void {
    if (!existsSync(netns)) {
      throw new NetnsRulesError(
        'ERR_NETNS_MISSING',
        `netns ${netns} does not exist (is the pod sandbox gone?)`,
      );
    }
  }

  /** The state of the redirect in `netns`. */
  async check(netns: string): Promise<RedirectInspection> {
    this.#requireNetns(netns);
    return inspectRedirect(await this.#saved(netns), await this.#routing(netns), this.#c);
  }

  /**
   * Installs the redirect. The route and rule go first: a TPROXYed packet without its local route would be
   * forwarded instead of delivered. Verifies the result, so a kernel that silently lacks a match fails here.
   */
  async apply(netns: string): Promise<RulesOutcome> {
    this.#requireNetns(netns);
    const saved = await this.#saved(netns);
    const routing = await this.#routing(netns);
    if (inspectRedirect(saved, routing, this.#c).complete) return 'unchanged';
    if (!routing.localRoute) await this.#in(netns, 'ip', ipRouteArgs('replace', this.#c));
    if (!routing.markRule) await this.#in(netns, 'ip', ipRuleArgs('add', this.#c));
    await this.#in(netns, 'iptables-restore', ['--noflush'], applyRestoreInput(saved, this.#c));
    const after = await this.check(netns);
    if (!after.complete) {
      throw new NetnsRulesError(
        'ERR_REDIRECT_INCOMPLETE',
        `redirect in ${netns} incomplete after apply: ${after.problems.join('; ')}`,
      );
    }
    return 'changed';
  }

  /**
   * Removes the redirect: iptables first (so no new connection is captured), then the rule and route. A netns that
   * no longer exists has nothing left to remove.
   */
  async remove(netns: string): Promise<RulesOutcome> {
    if (!existsSync(netns)) return 'unchanged';
    const saved = await this.#saved(netns);
    const routing = await this.#routing(netns);
    const plan = removalPlan(saved, this.#c);
    let changed = false;
    if (plan.restore !== undefined) {
      await this.#in(netns, 'iptables-restore', ['--noflush'], plan.restore);
      changed = true;
    }
    if (plan.dropIfPristine.length > 0) {
      // Re-read: only a table that is still empty after our removal is deleted (someone may have added rules).
      const now = await this.#saved(netns);
      for (const table of plan.dropIfPristine) {
        if (!tablePristine(now.tables.get(table))) continue;
        try {
          await this.#in(netns, 'nft', ['delete', 'table', 'ip', table]);
        } catch (err) {
          // Without the nft tool the empty table stays: harmless (it changes no packet), only visible in iptables-save.
          if (!isMissingProgram(err)) throw err;
        }
      }
    }
    if (routing.markRule) {
      await this.#in(netns, 'ip', ipRuleArgs('del', this.#c));
      changed = true;
    }
    if (routing.localRoute) {
      await this.#in(netns, 'ip', ipRouteArgs('del', this.#c));
      changed = true;
    }
    return changed ? 'changed' : 'unchanged';
  }
}
