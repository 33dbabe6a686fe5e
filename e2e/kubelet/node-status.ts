// Registers the kubelet's Node, renews its Lease every 10 s, posts its status every 30 s, and waits for a podCIDR.
import { createHash, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { release } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { KubeletError, isApiStatus } from './errors.ts';
import type { KubeletApi } from './kubelet-api.ts';
import {
  leaseManifest,
  leaseRenewal,
  nodeLabels,
  nodeManifest,
  nodeStatus,
  type NodeFacts,
} from './node-object.ts';

export interface NodeStatusTiming {
  /** Lease renewals (kubelet --node-lease-renew-interval is 10 s: a quarter of the 40 s lease). @default 10_000 */
  readonly leaseRenewMs?: number;
  /** Status posts; the node lifecycle controller also accepts these as heartbeats. @default 30_000 */
  readonly statusMs?: number;
}

/** The node's facts from the machine: kernel, OS, stable ids derived from the node name, a fresh boot id. */
export function localNodeFacts(
  nodeName: string,
  nodeIP: string,
  capacity: Readonly<Record<string, string>>,
): NodeFacts {
  const hash = createHash('sha256').update(`ambit-box-node:${nodeName}`).digest('hex');
  let osImage = 'Linux';
  try {
    const m = /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(readFileSync('/etc/os-release', 'utf8'));
    if (m?.[1] !== undefined) osImage = m[1];
  } catch {
    // keep the generic name
  }
  const uuid = `${hash.slice(0, 8)}-${hash.slice(8, 12)}-${hash.slice(12, 16)}-${hash.slice(16, 20)}-${hash.slice(20, 32)}`;
  return {
    nodeName,
    nodeIP,
    capacity,
    machineID: hash.slice(0, 32),
    systemUUID: uuid,
    bootID: randomUUID(),
    kernelVersion: release(),
    osImage,
  };
}

/**
 * Invariants once `register` resolved, until `stop`:
 * 1. the Node exists with the kubelet's labels and a Ready status;
 * 2. the Lease `kube-node-lease/<node>` is renewed every leaseRenewMs (retried every second after a failure,
 *    and re-created if it disappears);
 * 3. the status (with fresh heartbeat times) is posted every statusMs.
 */
export class NodeStatusReporter {
  readonly #api: KubeletApi;
  readonly #facts: NodeFacts;
  readonly #log: (line: string) => void;
  readonly #leaseMs: number;
  readonly #statusMs: number;
  readonly #readySince = Date.now();
  readonly #abort = new AbortController();
  #nodeUid = '';
  readonly #loops: Promise<void>[] = [];

  constructor(api: KubeletApi, facts: NodeFacts, log: (line: string) => void, timing: NodeStatusTiming = {}) {
    this.#api = api;
    this.#facts = facts;
    this.#log = log;
    this.#leaseMs = timing.leaseRenewMs ?? 10_000;
    this.#statusMs = timing.statusMs ?? 30_000;
  }

  /** Creates the Node (or updates an existing one), posts its status and the Lease, then starts the loops. */
  async register(): Promise<void> {
    const name = this.#facts.nodeName;
    const now = Date.now();
    let node = await this.#api.getNode(name);
    if (node === undefined) {
      try {
        node = await this.#api.createNode(nodeManifest(this.#facts, this.#readySince, now));
      } catch (err) {
        if (!isApiStatus(err, 409)) throw err;
        node = await this.#api.getNode(name);
      }
    } else {
      node = await this.#api.patchNode(name, { metadata: { labels: nodeLabels(name) } });
    }
    if (node?.metadata?.uid === undefined) {
      throw new KubeletError('ERR_NODE_REGISTRATION', `node ${name} vanished while it was being registered`);
    }
    this.#nodeUid = node.metadata.uid;
    await this.#postStatus();
    await this.#renewLease();
    this.#loops.push(
      this.#every(this.#leaseMs, () => this.#renewLease(), 'lease renewal'),
      this.#every(this.#statusMs, () => this.#postStatus(), 'status update'),
    );
  }

  /** Polls the Node until the controller-manager has given it a pod CIDR. */
  async waitForPodCidr(timeoutMs: number): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    let lastError = '';
    while (Date.now() < deadline && !this.#abort.signal.aborted) {
      try {
        const cidr = (await this.#api.getNode(this.#facts.nodeName))?.spec?.podCIDR;
        if (cidr !== undefined && cidr !== '') return cidr;
      } catch (err) {
        lastError = `: ${err instanceof Error ? err.message : String(err)}`;
      }
      await sleep(200, undefined, { signal: this.#abort.signal }).catch(() => undefined);
    }
    throw new KubeletError(
      'ERR_NODE_REGISTRATION',
      `node ${this.#facts.nodeName} got no spec.podCIDR within ${timeoutMs} ms (is kube-controller-manager ` +
        `running with --allocate-node-cidrs?)${lastError}`,
    );
  }

  async stop(): Promise<void> {
    this.#abort.abort();
    await Promise.all(this.#loops);
  }

  async #postStatus(): Promise<void> {
    await this.#api.patchNodeStatus(this.#facts.nodeName, {
      status: nodeStatus(this.#facts, this.#readySince, Date.now()),
    });
  }

  async #renewLease(): Promise<void> {
    const name = this.#facts.nodeName;
    if (await this.#api.renewLease(name, leaseRenewal(name, Date.now()))) return;
    try {
      await this.#api.createLease(leaseManifest(name, this.#nodeUid, Date.now()));
    } catch (err) {
      if (!isApiStatus(err, 409)) throw err;
    }
  }

  /** Runs `step` every `ms` until stopped; a failure is logged and retried after a second. */
  async #every(ms: number, step: () => Promise<void>, what: string): Promise<void> {
    const signal = this.#abort.signal;
    let wait = ms;
    while (!signal.aborted) {
      await sleep(wait, undefined, { signal }).catch(() => undefined);
      if (signal.aborted) return;
      try {
        await step();
        wait = ms;
      } catch (err) {
        this.#log(`node ${what} failed: ${err instanceof Error ? err.message : String(err)}`);
        wait = Math.min(ms, 1_000);
      }
    }
  }
}
