// The handover protocol: the node agent tells its node's ztunnel which pod network namespaces to serve.
//
// Wire: a unix stream socket (the agent listens, e.g. /var/run/ambit/ztunnel.sock; the ztunnel connects), carrying
// newline-delimited JSON. Agent → ztunnel, each with a per-connection `seq`:
//   {seq, type:'add',  uid, namespace, name, netns, netnsInode?, ips}  start serving this pod (or update it)
//   {seq, type:'keep', uid, namespace, name, netns, netnsInode?, ips}  after a (re)connect: this pod is still enrolled
//   {seq, type:'snapshot-sent'}                                        every enrolled pod has been sent as `keep`
//   {seq, type:'del',  uid}                                            stop serving this pod
// ztunnel → agent: {ack: seq} or {ack: seq, error: '...'} (a NACK), in the order the messages came.
//
// Invariants:
//  1. on every connection the agent first sends one `keep` per pod of its current set, then `snapshot-sent`; a
//     ztunnel that restarted (or reconnected) rebuilds from that, and drops the pods it still holds that were not
//     kept (SnapshotTracker does that bookkeeping), so a pod removed while it was away is not served forever;
//  2. the agent's set is the desired state, independent of any connection: add/del change it even with no ztunnel
//     connected, and the next snapshot carries the result;
//  3. at most one ztunnel connection is live: a new one replaces the old (a restarting ztunnel may connect before
//     the old socket is seen closed), and the old one's unanswered messages count as not delivered.
//
// Why a path and not a file descriptor: Istio passes the netns as an fd (SOCK_SEQPACKET + SCM_RIGHTS), but Node
// cannot send or receive descriptors over a unix socket. So we pass the path of the netns's bind mount
// (`/var/run/netns/<name>`), which the container runtime keeps for the pod's whole life, and the ztunnel opens it
// itself. What that costs, and what native fd passing (dataplane/native) would fix:
//  - the name can outlive the namespace or be recycled: if the sandbox is torn down and a new netns is mounted
//    under the same name before the ztunnel opens it, the ztunnel would enter the wrong pod. Our names come from the
//    pod uid, so a reuse needs a uid-prefix collision, and `netnsInode` (the nsfs inode the agent saw) lets the
//    ztunnel check `fstat(fd).ino` after opening and refuse a mismatch. An fd pins the namespace itself: no race;
//  - the ztunnel needs the host's netns directory mounted (with propagation) instead of nothing;
//  - an fd keeps the namespace alive while the ztunnel holds it; a path does not (the ztunnel should open the path
//    once on `add` and keep the fd, which is what the native addon's `openListener({netnsPath})` does).
import { once } from 'node:events';
import { chmod, mkdir, rm } from 'node:fs/promises';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { dirname } from 'node:path';

/** A pod as the ztunnel needs it. */
export interface PodNetns {
  readonly uid: string;
  readonly namespace: string;
  readonly name: string;
  /** Path of the pod's netns file, e.g. `/var/run/netns/kpod-0123456789ab`. */
  readonly netns: string;
  /** The netns's nsfs inode as the agent saw it (decimal string); the ztunnel compares it after opening. */
  readonly netnsInode?: string;
  /** The pod's IPv4 addresses. */
  readonly ips: readonly string[];
}

export type HandoverMessage =
  | ({ readonly type: 'add' } & PodNetns)
  | ({ readonly type: 'keep' } & PodNetns)
  | { readonly type: 'snapshot-sent' }
  | { readonly type: 'del'; readonly uid: string };

export type WireMessage = HandoverMessage & { readonly seq: number };

export interface Ack {
  readonly ack: number;
  readonly error?: string;
}

export type HandoverErrorCode =
  'ERR_HANDOVER_PROTOCOL' | 'ERR_HANDOVER_REJECTED' | 'ERR_HANDOVER_TIMEOUT' | 'ERR_HANDOVER_CLOSED';

export class HandoverError extends Error {
  readonly code: HandoverErrorCode;
  constructor(code: HandoverErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'HandoverError';
    this.code = code;
  }
}

/** A line longer than this is a protocol error (a pod's message is a few hundred bytes). */
export const MAX_LINE = 64 * 1024;

// ---- pure wire parsing ------------------------------------------------------------------------------------------

function protocolError(why: string): HandoverError {
  return new HandoverError('ERR_HANDOVER_PROTOCOL', `handover protocol: ${why}`);
}

function parseObject(line: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch (err) {
    throw new HandoverError('ERR_HANDOVER_PROTOCOL', 'handover protocol: line is not JSON', { cause: err });
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    throw protocolError('line is not a JSON object');
  return v as Record<string, unknown>;
}

function str(o: Record<string, unknown>, key: string): string {
  const v = o[key];
  if (typeof v !== 'string' || v === '') throw protocolError(`${key} must be a non-empty string`);
  return v;
}

function seqOf(o: Record<string, unknown>, key: string): number {
  const v = o[key];
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0)
    throw protocolError(`${key} must be a sequence number`);
  return v;
}

function podOf(o: Record<string, unknown>): PodNetns {
  const ips = o.ips;
  if (!Array.isArray(ips) || !ips.every((ip) => typeof ip === 'string'))
    throw protocolError('ips must be strings');
  const inode = o.netnsInode;
  if (inode !== undefined && typeof inode !== 'string') throw protocolError('netnsInode must be a string');
  return {
    uid: str(o, 'uid'),
    namespace: str(o, 'namespace'),
    name: str(o, 'name'),
    netns: str(o, 'netns'),
    ...(inode === undefined ? {} : { netnsInode: inode }),
    ips: ips,
  };
}

/** One agent → ztunnel line. Unknown fields are ignored (one version of skew is allowed); unknown types are errors. */
export function parseWireMessage(line: string): WireMessage {
  const o = parseObject(line);
  const seq = seqOf(o, 'seq');
  switch (o.type) {
    case 'add':
      return { seq, type: 'add', ...podOf(o) };
    case 'keep':
      return { seq, type: 'keep', ...podOf(o) };
    case 'snapshot-sent':
      return { seq, type: 'snapshot-sent' };
    case 'del':
      return { seq, type: 'del', uid: str(o, 'uid') };
    default:
      throw protocolError(`unknown message type ${JSON.stringify(o.type)}`);
  }
}

/** One ztunnel → agent line. */
export function parseAck(line: string): Ack {
  const o = parseObject(line);
  const ack = seqOf(o, 'ack');
  if (o.error === undefined) return { ack };
  if (typeof o.error !== 'string') throw protocolError('error must be a string');
  return { ack, error: o.error };
}

export function encodeLine(v: WireMessage | Ack): string {
  return `${JSON.stringify(v)}\n`;
}

/** Splits a byte stream into lines; throws a protocol error on a line over MAX_LINE. */
export class LineSplitter {
  #buf = '';
  push(chunk: string): string[] {
    this.#buf += chunk;
    const parts = this.#buf.split('\n');
    this.#buf = parts.pop() ?? '';
    if (this.#buf.length > MAX_LINE) throw protocolError(`line longer than ${MAX_LINE} bytes`);
    return parts.filter((l) => l.trim() !== '');
  }
}

/**
 * The ztunnel's side of invariant 1, as data: which pods to drop once a snapshot is complete.
 * `connected()` starts a snapshot; `seen(uid)` for each add/keep; `snapshotSent()` returns the uids held from
 * before that were not seen (drop them) and ends the snapshot; `removed(uid)` for each del.
 */
export class SnapshotTracker {
  readonly #held = new Set<string>();
  #unconfirmed: Set<string> | undefined;

  connected(): void {
    this.#unconfirmed = new Set(this.#held);
  }
  seen(uid: string): void {
    this.#held.add(uid);
    this.#unconfirmed?.delete(uid);
  }
  removed(uid: string): void {
    this.#held.delete(uid);
    this.#unconfirmed?.delete(uid);
  }
  snapshotSent(): string[] {
    const stale = [...(this.#unconfirmed ?? [])];
    for (const uid of stale) this.#held.delete(uid);
    this.#unconfirmed = undefined;
    return stale;
  }
  held(): string[] {
    return [...this.#held];
  }
}

// ---- the agent's end --------------------------------------------------------------------------------------------

/** `acked`: the connected ztunnel took it; `pending`: no ztunnel connected (or it went away), the next snapshot has it. */
export type Delivery = 'acked' | 'pending';

export interface HandoverServerOptions {
  /** The unix socket path; a stale socket file there is replaced. */
  readonly path: string;
  /** An unanswered message fails after this long and the connection is dropped. @default 10_000 */
  readonly ackTimeoutMs?: number;
  /** @default no logging */
  readonly log?: (line: string) => void;
}

interface Pending {
  readonly msg: WireMessage;
  readonly resolve: (d: Delivery) => void;
  readonly reject: (err: Error) => void;
  readonly timer: NodeJS.Timeout;
}

interface Conn {
  readonly socket: Socket;
  nextSeq: number;
  readonly pending: Map<number, Pending>;
  /** Resolves when this connection's snapshot was acked. */
  readonly synced: Promise<void>;
  markSynced: () => void;
}

const describe = (m: HandoverMessage): string =>
  m.type === 'add' || m.type === 'keep'
    ? `${m.type} ${m.namespace}/${m.name} (${m.uid})`
    : m.type === 'del'
      ? `del ${m.uid}`
      : m.type;

/** Run by the node agent: holds the enrolled set and streams it to whichever ztunnel is connected. */
export class HandoverServer {
  readonly #o: HandoverServerOptions;
  readonly #pods = new Map<string, PodNetns>();
  #server: Server | undefined;
  #conn: Conn | undefined;
  #syncWaiters: (() => void)[] = [];

  constructor(o: HandoverServerOptions) {
    this.#o = o;
  }

  get path(): string {
    return this.#o.path;
  }

  /** Whether a ztunnel is connected right now. */
  get connected(): boolean {
    return this.#conn !== undefined;
  }

  /** The desired set, by uid. */
  pods(): readonly PodNetns[] {
    return [...this.#pods.values()];
  }

  async listen(): Promise<void> {
    await mkdir(dirname(this.#o.path), { recursive: true });
    // A socket file left by a previous agent would make listen fail with EADDRINUSE; this path is ours.
    await rm(this.#o.path, { force: true });
    const server = createServer((s) => this.#accept(s));
    this.#server = server;
    server.listen(this.#o.path);
    await once(server, 'listening');
    // Only root (the ztunnel runs privileged) may hand us acks or read pod netns paths.
    await chmod(this.#o.path, 0o600);
  }

  async close(): Promise<void> {
    this.#drop(this.#conn, 'server closing');
    const server = this.#server;
    this.#server = undefined;
    if (server !== undefined) {
      const closed = once(server, 'close');
      server.close();
      await closed;
    }
  }

  /** Resolves once a ztunnel is connected and has acked its snapshot. */
  whenSynced(): Promise<void> {
    return new Promise((resolve) => {
      this.#syncWaiters.push(resolve);
      void this.#conn?.synced.then(() => this.#flushSyncWaiters());
    });
  }

  #flushSyncWaiters(): void {
    const waiters = this.#syncWaiters;
    this.#syncWaiters = [];
    for (const w of waiters) w();
  }

  /**
   * Adds or updates a pod and tells the ztunnel. Rejects with ERR_HANDOVER_REJECTED when the ztunnel NACKs (the pod
   * stays in the set: the caller decides whether to retry or `del`), ERR_HANDOVER_TIMEOUT when it does not answer.
   */
  add(pod: PodNetns): Promise<Delivery> {
    this.#pods.set(pod.uid, pod);
    return this.#send({ type: 'add', ...pod });
  }

  /** Removes a pod (absent is fine) and tells the ztunnel. */
  del(uid: string): Promise<Delivery> {
    this.#pods.delete(uid);
    return this.#send({ type: 'del', uid });
  }

  #accept(socket: Socket): void {
    if (this.#conn !== undefined) {
      this.#o.log?.('handover: a new ztunnel connection replaces the current one');
      this.#drop(this.#conn, 'replaced by a new connection');
    }
    let markSynced = (): void => undefined;
    const synced = new Promise<void>((r) => (markSynced = r));
    const conn: Conn = { socket, nextSeq: 1, pending: new Map(), synced, markSynced };
    this.#conn = conn;
    socket.setEncoding('utf8');
    const lines = new LineSplitter();
    socket.on('data', (chunk: string) => {
      try {
        for (const line of lines.push(chunk)) this.#onAck(conn, parseAck(line));
      } catch (err) {
        this.#o.log?.(`handover: ${(err as Error).message}; dropping the connection`);
        this.#drop(conn, 'protocol error');
      }
    });
    socket.on('error', (err) => this.#o.log?.(`handover: connection error: ${err.message}`));
    socket.on('close', () => this.#drop(conn, 'connection closed'));
    this.#o.log?.(`handover: ztunnel connected; sending snapshot of ${this.#pods.size} pods`);
    // Invariant 1. Keeps are fire-and-forget for the caller: a NACK is logged, and the agent's next reconcile of
    // that pod (an `add`) retries it.
    const keeps = [...this.#pods.values()].map((pod) =>
      this.#sendOn(conn, { type: 'keep', ...pod }).catch((err: Error) =>
        this.#o.log?.(`handover: ${err.message}`),
      ),
    );
    void this.#sendOn(conn, { type: 'snapshot-sent' })
      .then(async (d) => {
        await Promise.all(keeps);
        if (d === 'acked' && this.#conn === conn) {
          conn.markSynced();
          this.#flushSyncWaiters();
        }
      })
      .catch((err: Error) => this.#o.log?.(`handover: snapshot: ${err.message}`));
  }

  #send(msg: HandoverMessage): Promise<Delivery> {
    const conn = this.#conn;
    if (conn === undefined) return Promise.resolve('pending');
    return this.#sendOn(conn, msg);
  }

  #sendOn(conn: Conn, msg: HandoverMessage): Promise<Delivery> {
    const seq = conn.nextSeq++;
    const wire = { ...msg, seq } as WireMessage;
    return new Promise<Delivery>((resolve, reject) => {
      const timer = setTimeout(() => {
        conn.pending.delete(seq);
        reject(new HandoverError('ERR_HANDOVER_TIMEOUT', `ztunnel did not answer ${describe(msg)} in time`));
        this.#drop(conn, 'ack timeout');
      }, this.#o.ackTimeoutMs ?? 10_000);
      conn.pending.set(seq, { msg: wire, resolve, reject, timer });
      conn.socket.write(encodeLine(wire));
    });
  }

  #onAck(conn: Conn, ack: Ack): void {
    const p = conn.pending.get(ack.ack);
    if (p === undefined) throw protocolError(`ack ${ack.ack} answers no message`);
    conn.pending.delete(ack.ack);
    clearTimeout(p.timer);
    if (ack.error === undefined) p.resolve('acked');
    else
      p.reject(
        new HandoverError('ERR_HANDOVER_REJECTED', `ztunnel rejected ${describe(p.msg)}: ${ack.error}`),
      );
  }

  /** Ends a connection; its unanswered messages resolve `pending` (invariant 3: the next snapshot carries them). */
  #drop(conn: Conn | undefined, why: string): void {
    if (conn === undefined) return;
    if (this.#conn === conn) {
      this.#conn = undefined;
      this.#o.log?.(`handover: ztunnel disconnected (${why})`);
    }
    for (const p of conn.pending.values()) {
      clearTimeout(p.timer);
      p.resolve('pending');
    }
    conn.pending.clear();
    conn.socket.destroy();
  }
}

// ---- the ztunnel's end ------------------------------------------------------------------------------------------

export interface HandoverClientOptions {
  readonly path: string;
  /** Applies one message; a rejection becomes the NACK's error text. Called one message at a time, in order. */
  readonly handler: (msg: HandoverMessage) => Promise<void>;
  /** Reconnect back-off: doubles from `initialMs` to `maxMs`, reset by a successful connect. */
  readonly retry?: { readonly initialMs?: number; readonly maxMs?: number };
  readonly log?: (line: string) => void;
  /** Called on every (re)connect, before the first message of its snapshot. */
  readonly onConnect?: () => void;
}

/** Used by the ztunnel: connects to the agent (retrying forever until closed) and answers every message. */
export class HandoverClient {
  readonly #o: HandoverClientOptions;
  #socket: Socket | undefined;
  #timer: NodeJS.Timeout | undefined;
  #delay: number | undefined;
  #closed = false;
  #connected = false;

  constructor(o: HandoverClientOptions) {
    this.#o = o;
  }

  get connected(): boolean {
    return this.#connected;
  }

  start(): void {
    this.#closed = false;
    this.#connect();
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    const s = this.#socket;
    this.#socket = undefined;
    if (s !== undefined && !s.destroyed) {
      const closed = once(s, 'close');
      s.destroy();
      await closed;
    }
  }

  #connect(): void {
    if (this.#closed) return;
    const socket = createConnection(this.#o.path);
    this.#socket = socket;
    socket.setEncoding('utf8');
    const lines = new LineSplitter();
    let chain = Promise.resolve();
    socket.on('connect', () => {
      this.#delay = undefined;
      this.#connected = true;
      this.#o.log?.(`handover: connected to ${this.#o.path}`);
      this.#o.onConnect?.();
    });
    socket.on('data', (chunk: string) => {
      let batch: string[];
      try {
        batch = lines.push(chunk);
      } catch (err) {
        this.#o.log?.(`handover: ${(err as Error).message}; reconnecting`);
        socket.destroy();
        return;
      }
      for (const line of batch) chain = chain.then(() => this.#handle(socket, line));
    });
    socket.on('error', (err) => {
      if (this.#connected) this.#o.log?.(`handover: ${err.message}`);
    });
    socket.on('close', () => {
      this.#connected = false;
      if (this.#socket === socket) this.#socket = undefined;
      this.#scheduleReconnect();
    });
  }

  async #handle(socket: Socket, line: string): Promise<void> {
    let msg: WireMessage;
    try {
      msg = parseWireMessage(line);
    } catch (err) {
      // Without a sequence number there is nothing to NACK: the stream cannot be trusted any more.
      this.#o.log?.(`handover: ${(err as Error).message}; reconnecting`);
      socket.destroy();
      return;
    }
    const { seq, ...body } = msg;
    let ack: Ack;
    try {
      await this.#o.handler(body);
      ack = { ack: seq };
    } catch (err) {
      ack = { ack: seq, error: err instanceof Error ? err.message : String(err) };
    }
    if (!socket.destroyed) socket.write(encodeLine(ack));
  }

  #scheduleReconnect(): void {
    if (this.#closed || this.#timer !== undefined) return;
    const initial = this.#o.retry?.initialMs ?? 100;
    const max = this.#o.retry?.maxMs ?? 5_000;
    this.#delay = this.#delay === undefined ? initial : Math.min(this.#delay * 2, max);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#connect();
    }, this.#delay);
  }
}
