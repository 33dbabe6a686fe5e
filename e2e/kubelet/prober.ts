// A node's probe client: one long-lived agent process inside the node netns, probing from 169.254.7.127.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { KubeletError } from './errors.ts';
import {
  AGENT_READY_ID,
  type HttpProbeRequest,
  type ProbeAnswer,
  type TcpProbeRequest,
} from './probe-protocol.ts';
import { run, tool } from './tools.ts';

/** Istio's node agent lets traffic from this address into captured pods (DESIGN §7). */
export const PROBE_SOURCE_ADDRESS = '169.254.7.127';
/** The node netns link that holds it. */
export const PROBE_SOURCE_LINK = 'lo';

const AGENT_PATH = fileURLToPath(new URL('./probe-agent.ts', import.meta.url));

/**
 * Gives the node netns the probe source address (idempotent). On `lo`, not a dummy link or the CNI bridge: the
 * machine's kernel has no dummy module, the bridge only exists after the first pod, and a local address on any
 * interface is a valid source (Linux's weak host model). Pods answer via their default route, the bridge; the node
 * delivers locally.
 */
export async function ensureProbeSource(
  nodeNetns: string,
  address: string = PROBE_SOURCE_ADDRESS,
  link: string = PROBE_SOURCE_LINK,
): Promise<void> {
  await run('ip', ['-n', nodeNetns, 'link', 'set', link, 'up']);
  await run('ip', ['-n', nodeNetns, 'addr', 'replace', `${address}/32`, 'dev', link]);
}

type Pending = { resolve: (a: ProbeAnswer) => void; reject: (e: Error) => void };

/** What a probe needs besides the source address and id, which the prober fills in. */
export type HttpProbe = Omit<HttpProbeRequest, 'id' | 'kind' | 'sourceAddress'>;
export type TcpProbe = Omit<TcpProbeRequest, 'id' | 'kind' | 'sourceAddress'>;

/**
 * Why an agent process and not one `ip netns exec … node` per probe: a socket belongs to the netns of the process
 * that creates it, and Node cannot setns(2) itself; a fresh process per probe costs ~50 ms of CPU (many pods, 2
 * cores), while one agent per node answers in well under a millisecond. Robustness: the agent exits when its stdin
 * closes (so it never outlives the kubelet), probes in flight fail with ERR_PROBER_EXITED if it dies, and the next
 * probe starts a new one. `nsenter --net` would do as well as `ip netns exec`; the latter also matches how CNI runs.
 */
export class NodeProber {
  readonly nodeNetns: string;
  readonly sourceAddress: string;
  #agent: Promise<ChildProcessWithoutNullStreams> | undefined;
  readonly #pending = new Map<number, Pending>();
  #nextId = AGENT_READY_ID + 1;
  #closed = false;

  constructor(nodeNetns: string, sourceAddress: string = PROBE_SOURCE_ADDRESS) {
    this.nodeNetns = nodeNetns;
    this.sourceAddress = sourceAddress;
  }

  /** The agent's pid once started (for tests and leak checks). */
  async pid(): Promise<number | undefined> {
    if (this.#closed) return undefined;
    return (await this.#ensureAgent()).pid;
  }

  http(p: HttpProbe): Promise<ProbeAnswer> {
    return this.#send((id) => ({ ...p, id, kind: 'http', sourceAddress: this.sourceAddress }), p.timeoutMs);
  }

  tcp(p: TcpProbe): Promise<ProbeAnswer> {
    return this.#send((id) => ({ ...p, id, kind: 'tcp', sourceAddress: this.sourceAddress }), p.timeoutMs);
  }

  /** Ends the agent (closing its stdin) and waits for it to exit. */
  async close(): Promise<void> {
    this.#closed = true;
    const agent = await this.#agent?.catch(() => undefined);
    if (agent === undefined || agent.exitCode !== null || agent.signalCode !== null) return;
    const gone = new Promise<void>((resolve) => agent.once('exit', () => resolve()));
    agent.stdin.end();
    const timer = setTimeout(() => agent.kill('SIGKILL'), 2_000);
    await gone;
    clearTimeout(timer);
  }

  async #send(
    make: (id: number) => HttpProbeRequest | TcpProbeRequest,
    timeoutMs: number,
  ): Promise<ProbeAnswer> {
    if (this.#closed) throw new KubeletError('ERR_PROBER_EXITED', `prober of ${this.nodeNetns} is closed`);
    const agent = await this.#ensureAgent();
    const id = this.#nextId++;
    return new Promise<ProbeAnswer>((resolve, reject) => {
      // The agent enforces the timeout; this backstop only catches a wedged agent.
      const backstop = setTimeout(() => {
        this.#pending.delete(id);
        resolve({ id, ok: false, detail: `no answer from the probe agent after ${timeoutMs + 2_000} ms` });
      }, timeoutMs + 2_000);
      this.#pending.set(id, {
        resolve: (a) => {
          clearTimeout(backstop);
          resolve(a);
        },
        reject: (e) => {
          clearTimeout(backstop);
          reject(e);
        },
      });
      agent.stdin.write(`${JSON.stringify(make(id))}\n`);
    });
  }

  #ensureAgent(): Promise<ChildProcessWithoutNullStreams> {
    this.#agent ??= this.#startAgent().catch((err: unknown) => {
      this.#agent = undefined;
      throw err;
    });
    return this.#agent;
  }

  #startAgent(): Promise<ChildProcessWithoutNullStreams> {
    const agent = spawn(
      tool('ip'),
      ['netns', 'exec', this.nodeNetns, process.execPath, AGENT_PATH, this.nodeNetns],
      {
        stdio: ['pipe', 'pipe', 'pipe'],
      },
    );
    agent.stdin.on('error', () => undefined); // EPIPE after an agent crash: reported through 'exit'
    let stderr = '';
    agent.stderr.on('data', (b: Buffer) => (stderr = (stderr + b.toString('utf8')).slice(-2_000)));
    return new Promise((resolve, reject) => {
      createInterface({ input: agent.stdout }).on('line', (line) => {
        const a = JSON.parse(line) as ProbeAnswer;
        if (a.id === AGENT_READY_ID) {
          resolve(agent);
          return;
        }
        this.#pending.get(a.id)?.resolve(a);
        this.#pending.delete(a.id);
      });
      agent.once('error', (err) =>
        reject(
          new KubeletError('ERR_PROBER_EXITED', `cannot start probe agent: ${err.message}`, { cause: err }),
        ),
      );
      agent.once('exit', (code, signal) => {
        this.#agent = undefined;
        const err = new KubeletError(
          'ERR_PROBER_EXITED',
          `probe agent in ${this.nodeNetns} exited (${signal ?? String(code)}): ${stderr.trim()}`,
        );
        for (const p of this.#pending.values()) p.reject(err);
        this.#pending.clear();
        reject(err); // no-op once resolved
      });
    });
  }
}
