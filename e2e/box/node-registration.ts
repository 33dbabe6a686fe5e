// Registers a Node the way a kubelet does (its own credentials, Node then Lease) and keeps it Ready until stopped.
import { apiError, type ApiClient, type ApiResponse } from '../cluster/rest.ts';
import { BoxError } from './errors.ts';
import {
  leaseObject,
  leaseRenewal,
  LEASE_RENEW_MS,
  NODE_LEASE_NAMESPACE,
  nodeObject,
  nodeStatus,
  STATUS_REFRESH_MS,
  type NodeFacts,
} from './node-object.ts';

const MERGE_PATCH = 'application/merge-patch+json';

export interface RegisterNodeOptions {
  readonly facts: NodeFacts;
  /**
   * A client with the node's own credentials (`system:node:<name>`), so the Node authorizer and NodeRestriction
   * apply as to a kubelet. Closed by stop().
   */
  readonly api: ApiClient;
  /** @default () => new Date() */
  readonly now?: () => Date;
}

export interface RegisteredNode {
  /** The last heartbeat failure, if the latest heartbeat failed (for diagnosis; heartbeats keep trying). */
  readonly lastError: Error | undefined;
  /** Stops the heartbeats (the Node stays, as when a kubelet stops). Idempotent. */
  stop(): Promise<void>;
}

function box(what: string, res: ApiResponse): BoxError {
  return new BoxError('ERR_BOX_API', apiError(what, res).message);
}

class NodeHeartbeat implements RegisteredNode {
  readonly #o: RegisterNodeOptions;
  readonly #now: () => Date;
  readonly #since: Date;
  #timer: NodeJS.Timeout | undefined;
  #inFlight: Promise<void> = Promise.resolve();
  #lastStatus = 0;
  #lastError: Error | undefined;

  constructor(o: RegisterNodeOptions) {
    this.#o = o;
    this.#now = o.now ?? (() => new Date());
    this.#since = this.#now();
  }

  get lastError(): Error | undefined {
    return this.#lastError;
  }

  get #nodePath(): string {
    return `/api/v1/nodes/${this.#o.facts.name}`;
  }

  get #leasePath(): string {
    return `/apis/coordination.k8s.io/v1/namespaces/${NODE_LEASE_NAMESPACE}/leases/${this.#o.facts.name}`;
  }

  /** Creates the Node, or refreshes its status if it exists (a box restarted over a kept etcd); returns its uid. */
  async #ensureNode(): Promise<string> {
    const { api, facts } = this.#o;
    const now = this.#now();
    const created = await api.request('POST', '/api/v1/nodes', {
      body: JSON.stringify(nodeObject(facts, now)),
      contentType: 'application/json',
    });
    if (created.status !== 201 && created.status !== 409) throw box(`register node ${facts.name}`, created);
    if (created.status === 409) await this.#patchStatus(now);
    this.#lastStatus = now.getTime();
    const node = await api.getJson<{ metadata: { uid: string } }>(this.#nodePath).catch((err: unknown) => {
      throw new BoxError('ERR_BOX_API', (err as Error).message, { cause: err });
    });
    return node.metadata.uid;
  }

  async #patchStatus(now: Date): Promise<ApiResponse> {
    const body = JSON.stringify({ status: nodeStatus(this.#o.facts, now, this.#since) });
    const res = await this.#o.api.request('PATCH', `${this.#nodePath}/status`, {
      body,
      contentType: MERGE_PATCH,
    });
    if (res.status !== 200 && res.status !== 404) throw box(`refresh node ${this.#o.facts.name}`, res);
    return res;
  }

  async #ensureLease(uid: string): Promise<void> {
    const { api, facts } = this.#o;
    const body = JSON.stringify(leaseObject(facts.name, uid, this.#now()));
    const res = await api.request(
      'POST',
      `/apis/coordination.k8s.io/v1/namespaces/${NODE_LEASE_NAMESPACE}/leases`,
      {
        body,
        contentType: 'application/json',
      },
    );
    if (res.status === 409) return this.#renewLease();
    if (res.status !== 201) throw box(`create lease of node ${facts.name}`, res);
  }

  async #renewLease(): Promise<void> {
    const body = JSON.stringify(leaseRenewal(this.#now()));
    const res = await this.#o.api.request('PATCH', this.#leasePath, { body, contentType: MERGE_PATCH });
    if (res.status === 404) return this.#ensureLease(await this.#nodeUid());
    if (res.status !== 200) throw box(`renew lease of node ${this.#o.facts.name}`, res);
  }

  async #nodeUid(): Promise<string> {
    const res = await this.#o.api.request('GET', this.#nodePath);
    if (res.status === 404) return this.#ensureNode();
    if (res.status !== 200) throw box(`get node ${this.#o.facts.name}`, res);
    return (JSON.parse(res.body) as { metadata: { uid: string } }).metadata.uid;
  }

  /** One heartbeat, level-based: the Node exists and is Ready (refreshed now and then), the lease is renewed. */
  async #beat(): Promise<void> {
    try {
      const now = this.#now();
      if (now.getTime() - this.#lastStatus >= STATUS_REFRESH_MS) {
        if ((await this.#patchStatus(now)).status === 404) await this.#ensureNode();
        this.#lastStatus = now.getTime();
      }
      await this.#renewLease();
      this.#lastError = undefined;
    } catch (err) {
      this.#lastError = err instanceof Error ? err : new Error(String(err));
    }
  }

  async start(): Promise<void> {
    await this.#ensureLease(await this.#ensureNode());
    this.#timer = setInterval(() => {
      this.#inFlight = this.#inFlight.then(() => this.#beat());
    }, LEASE_RENEW_MS);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#inFlight;
    this.#o.api.close();
  }
}

/** Creates the Node (Ready, with its InternalIP) and its Lease, then renews them in the background. */
export async function registerNode(o: RegisterNodeOptions): Promise<RegisteredNode> {
  const node = new NodeHeartbeat(o);
  try {
    await node.start();
  } catch (err) {
    await node.stop();
    throw err;
  }
  return node;
}
