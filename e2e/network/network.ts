// Creates a planned box network on the host by running its commands, and hands back the handle that changes
// pod CIDR routes, runs commands inside node netns and tears everything down again.
import type { HostFacts, Step } from './commands.ts';
import { commandsFor, routeCommands, teardownCommands } from './commands.ts';
import { findConflicts } from './conflicts.ts';
import { describeResources, findBoxResources, isEmpty } from './discover.ts';
import type { CommandError } from './errors.ts';
import { NetworkError } from './errors.ts';
import { probeFilterTable } from './filter-table.ts';
import type { MadeObject } from './names.ts';
import { willMountRunNetns } from './netns-mount.ts';
import type { BrNetfilterStatus } from './kernel.ts';
import { ensureBrNetfilter } from './kernel.ts';
import type { NetworkPlan } from './plan.ts';
import { nodeOf, withPodCidrs } from './plan.ts';
import { reapBox } from './reap.ts';
import type { RunResult } from './run.ts';
import { onPath, run, tryRun } from './run.ts';

/** The tools the box runs; `sysctl` runs inside the node netns. */
const REQUIRED_TOOLS = ['ip', 'iptables', 'iptables-save', 'sysctl'] as const;

export interface ExecOptions {
  /** @default 30_000 */
  readonly timeoutMs?: number;
}

/** A box network that exists on the host. */
export interface BoxNetwork {
  readonly box: string;
  /** The plan as it is now: pod CIDRs and routes follow `setPodCidrs`. */
  readonly plan: NetworkPlan;
  readonly brNetfilter: BrNetfilterStatus['state'];
  /** What the box could not do as planned on this host (br_netfilter absent, no `nft` to tidy iptables). */
  readonly notes: readonly string[];
  /** Gives `node` the pod CIDR `cidr` (added, or replacing its old one): every other node and the host route it. */
  addPodCidrRoute(node: string, cidr: string): Promise<void>;
  /** Sets the pod CIDRs of the nodes named (others keep theirs), e.g. from each Node's `spec.podCIDR`. */
  setPodCidrs(podCidrs: Readonly<Record<string, string>>): Promise<void>;
  /** `argv` prefixed so that it runs inside `node`'s netns: for `spawn` of long-running processes. */
  argvIn(node: string, argv: readonly string[]): string[];
  /** Runs `argv` inside `node`'s netns and resolves with its output; rejects with `ERR_NETWORK_EXEC`. */
  exec(node: string, argv: readonly string[], options?: ExecOptions): Promise<RunResult>;
  /** Removes everything of the box; idempotent. Rejects with `ERR_NETWORK_REAP` naming what is left. */
  teardown(): Promise<void>;
}

async function checkPrerequisites(): Promise<void> {
  if (process.getuid?.() !== 0) {
    throw new NetworkError('ERR_NETWORK_PREREQUISITE', 'the box network needs root (netns, veths, iptables)');
  }
  for (const tool of REQUIRED_TOOLS) {
    if (!(await onPath(tool))) {
      throw new NetworkError(
        'ERR_NETWORK_PREREQUISITE',
        `${tool} is not installed (Debian: iproute2, iptables, procps)`,
      );
    }
  }
}

/** Refuses to touch a host where the box, or anything in its address ranges, already exists. */
async function checkNotInUse(plan: NetworkPlan): Promise<void> {
  const found = await findBoxResources(plan.box);
  if (!isEmpty(found)) {
    throw new NetworkError(
      'ERR_NETWORK_IN_USE',
      `box ${plan.box} already exists on this machine (${describeResources(found)}); ` +
        `tear it down, or call reapNetwork('${plan.box}') if its owner died`,
    );
  }
  const [addrs, routes] = await Promise.all([
    run(['ip', '-j', '-4', 'addr', 'show']),
    run(['ip', '-j', '-4', 'route', 'show']),
  ]);
  const conflicts = findConflicts(addrs.stdout, routes.stdout, [
    plan.underlay.cidr,
    plan.clusterCidr,
    plan.serviceCidr,
  ]);
  if (conflicts.length > 0) {
    throw new NetworkError(
      'ERR_NETWORK_IN_USE',
      `the box's address ranges are already in use on this machine (${conflicts.join('; ')}); ` +
        'only one box runs at a time: tear the other one down or reap it',
    );
  }
}

/** Runs the steps in order; the first failure is rethrown naming the step. */
async function runSteps(box: string, steps: readonly Step[]): Promise<void> {
  for (const step of steps) {
    try {
      await run(step.argv);
    } catch (err) {
      const detail = err instanceof Error ? err.message : String(err);
      throw new NetworkError('ERR_NETWORK_COMMAND', `box ${box}: ${step.what} failed: ${detail}`, {
        cause: err,
      });
    }
  }
}

/** Runs every teardown command (failures are expected for what is already gone), then reaps what is left. */
async function removeAll(plan: NetworkPlan): Promise<void> {
  const errors: CommandError[] = [];
  for (const argv of teardownCommands(plan)) {
    const err = await tryRun(argv);
    if (err !== undefined) errors.push(err);
  }
  await reapBox(plan.box, errors);
}

class HostBoxNetwork implements BoxNetwork {
  readonly box: string;
  readonly brNetfilter: BrNetfilterStatus['state'];
  readonly notes: readonly string[];
  #plan: NetworkPlan;
  #tornDown = false;
  /** Route changes and teardown run one at a time, in call order. */
  #queue: Promise<unknown> = Promise.resolve();

  constructor(plan: NetworkPlan, brNetfilter: BrNetfilterStatus['state'], notes: readonly string[]) {
    this.box = plan.box;
    this.#plan = plan;
    this.brNetfilter = brNetfilter;
    this.notes = notes;
  }

  get plan(): NetworkPlan {
    return this.#plan;
  }

  #serially<T>(work: () => Promise<T>): Promise<T> {
    const next = this.#queue.then(work, work);
    this.#queue = next.catch(() => undefined);
    return next;
  }

  #checkLive(): void {
    if (this.#tornDown) throw new NetworkError('ERR_NETWORK_TORN_DOWN', `box ${this.box} was torn down`);
  }

  addPodCidrRoute(node: string, cidr: string): Promise<void> {
    return this.setPodCidrs({ [node]: cidr });
  }

  setPodCidrs(podCidrs: Readonly<Record<string, string>>): Promise<void> {
    return this.#serially(async () => {
      this.#checkLive();
      const next = withPodCidrs(this.#plan, podCidrs);
      await runSteps(this.box, routeCommands(this.#plan, next));
      this.#plan = next;
    });
  }

  argvIn(node: string, argv: readonly string[]): string[] {
    return ['ip', 'netns', 'exec', nodeOf(this.#plan, node).netns, ...argv];
  }

  async exec(node: string, argv: readonly string[], options: ExecOptions = {}): Promise<RunResult> {
    this.#checkLive();
    return await run(this.argvIn(node, argv), { code: 'ERR_NETWORK_EXEC', timeoutMs: options.timeoutMs });
  }

  teardown(): Promise<void> {
    return this.#serially(async () => {
      if (this.#tornDown) return;
      await removeAll(this.#plan);
      this.#tornDown = true;
    });
  }
}

/**
 * Creates the network of `plan` on this host (as root). Refuses (`ERR_NETWORK_IN_USE`) if the box or its address
 * ranges already exist. If a command fails midway, removes everything the box made and rejects with
 * `ERR_NETWORK_COMMAND` naming the step, the command and its stderr.
 */
export async function createNetwork(plan: NetworkPlan): Promise<BoxNetwork> {
  await checkPrerequisites();
  await checkNotInUse(plan);
  const brNetfilter = await ensureBrNetfilter();
  const filter = await probeFilterTable();
  const willMount: MadeObject[] = (await willMountRunNetns()) ? ['NETNSMNT'] : [];
  const facts: HostFacts = {
    brNetfilter: brNetfilter.state !== 'absent',
    willCreate: [...willMount, ...filter.missing],
  };
  const notes = [brNetfilter.note, filter.note].filter((n): n is string => n !== undefined);
  try {
    await runSteps(plan.box, commandsFor(plan, facts));
  } catch (err) {
    try {
      await removeAll(plan);
    } catch (cleanupErr) {
      throw new NetworkError(
        'ERR_NETWORK_COMMAND',
        `${(err as Error).message}; cleaning up after it failed too: ${(cleanupErr as Error).message}`,
        { cause: new AggregateError([err, cleanupErr]) },
      );
    }
    throw err;
  }
  return new HostBoxNetwork(plan, brNetfilter.state, notes);
}
