// The client's session pool: sessions by pool key, each carrying at most `maxStreams` CONNECT streams, closed when
// idle and forgotten on error or GOAWAY. It only counts and times; opening is the caller's `open`.
import type { ClientHttp2Session } from 'node:http2';
import { HboneError } from './errors.ts';

interface Entry {
  readonly key: string;
  /** The session being opened or open; shared by every lease taken while it opens. */
  readonly ready: Promise<ClientHttp2Session>;
  session: ClientHttp2Session | undefined;
  /** Streams leased (opening or open). Invariant: 0 <= streams <= capacity(entry). */
  streams: number;
  /** False once the session errored, got or sent GOAWAY, or was closed for idleness: no new leases. */
  usable: boolean;
  idleTimer: NodeJS.Timeout | undefined;
}

/** A slot on a session. `release` is idempotent; call it once the stream is closed (or was never opened). */
export interface Lease {
  readonly session: Promise<ClientHttp2Session>;
  readonly release: () => void;
}

export interface PoolStats {
  /** Sessions open or opening. */
  readonly sessions: number;
  /** Streams leased across them. */
  readonly streams: number;
  /** Sessions per pool key. */
  readonly byKey: ReadonlyMap<string, number>;
}

export interface SessionPoolOptions {
  readonly maxStreams: number;
  readonly idleTimeoutMs: number;
}

/** How long `close` lets streams in flight finish before destroying a session. */
export const CLOSE_GRACE_MS = 5_000;

export class SessionPool {
  readonly #opts: SessionPoolOptions;
  readonly #entries = new Map<string, Entry[]>();
  #closed = false;

  constructor(opts: SessionPoolOptions) {
    this.#opts = opts;
  }

  /**
   * Takes a slot on a usable session of `key` with room, or on a new one made by `open`. The slot is counted at
   * once, before the session is ready, so a burst of requests for a new key shares one handshake.
   */
  acquire(key: string, open: () => Promise<ClientHttp2Session>): Lease {
    if (this.#closed) throw new HboneError('ERR_HBONE_CLOSED', 'hbone client is closed');
    const list = this.#entries.get(key) ?? [];
    let entry = list.find((e) => e.usable && e.streams < this.#capacity(e));
    if (entry === undefined) {
      entry = this.#create(key, open);
      list.push(entry);
      this.#entries.set(key, list);
    }
    entry.streams += 1;
    clearTimeout(entry.idleTimer);
    entry.idleTimer = undefined;
    const taken = entry;
    let released = false;
    return {
      session: taken.ready,
      release: () => {
        if (released) return;
        released = true;
        this.#release(taken);
      },
    };
  }

  stats(): PoolStats {
    const byKey = new Map<string, number>();
    let sessions = 0;
    let streams = 0;
    for (const [key, list] of this.#entries) {
      byKey.set(key, list.length);
      sessions += list.length;
      for (const e of list) streams += e.streams;
    }
    return { sessions, streams, byKey };
  }

  /** Closes every session: GOAWAY, then resolves once in-flight streams have finished; no new leases. */
  async close(): Promise<void> {
    this.#closed = true;
    const all = [...this.#entries.values()].flat();
    this.#entries.clear();
    await Promise.all(
      all.map(async (e) => {
        clearTimeout(e.idleTimer);
        e.usable = false;
        const session = await e.ready.catch(() => undefined);
        if (!session || session.closed || session.destroyed) return;
        // Graceful GOAWAY, bounded: a session whose peer went away without closing may never call back (Node does
        // not call close's callback for a session destroyed meanwhile), so it is destroyed after the grace.
        await new Promise<void>((resolve) => {
          const grace = setTimeout(() => {
            session.destroy();
            resolve();
          }, CLOSE_GRACE_MS);
          grace.unref();
          session.close(() => {
            clearTimeout(grace);
            resolve();
          });
          session.once('close', () => {
            clearTimeout(grace);
            resolve();
          });
        });
      }),
    );
  }

  /** Destroys every session and its streams at once (shutdown, tests). */
  destroy(): void {
    this.#closed = true;
    const all = [...this.#entries.values()].flat();
    this.#entries.clear();
    for (const e of all) {
      clearTimeout(e.idleTimer);
      e.usable = false;
      void e.ready.then(
        (s) => s.destroy(),
        () => undefined,
      );
    }
  }

  /** The peer may advertise fewer concurrent streams than our cap; respect the lower one. */
  #capacity(e: Entry): number {
    const remote = e.session?.remoteSettings.maxConcurrentStreams;
    return remote === undefined ? this.#opts.maxStreams : Math.min(remote, this.#opts.maxStreams);
  }

  #create(key: string, open: () => Promise<ClientHttp2Session>): Entry {
    const entry: Entry = {
      key,
      ready: open().then(
        (session) => {
          entry.session = session;
          this.#watch(entry, session);
          if (this.#closed) session.close();
          return session;
        },
        (err: unknown) => {
          this.#forget(entry);
          throw err;
        },
      ),
      session: undefined,
      streams: 0,
      usable: true,
      idleTimer: undefined,
    };
    // Leases observe the rejection; this keeps an unobserved copy from surfacing as unhandled.
    entry.ready.catch(() => undefined);
    return entry;
  }

  #watch(entry: Entry, session: ClientHttp2Session): void {
    const retire = () => this.#forget(entry);
    // An error retires the session; its streams see their own errors, so nothing is rethrown here.
    session.on('error', retire);
    session.once('goaway', retire);
    session.once('close', retire);
  }

  #forget(entry: Entry): void {
    entry.usable = false;
    clearTimeout(entry.idleTimer);
    entry.idleTimer = undefined;
    const list = this.#entries.get(entry.key);
    if (!list) return;
    const i = list.indexOf(entry);
    if (i >= 0) list.splice(i, 1);
    if (list.length === 0) this.#entries.delete(entry.key);
  }

  #release(entry: Entry): void {
    entry.streams -= 1;
    if (entry.streams > 0 || !entry.usable) return;
    entry.idleTimer = setTimeout(() => {
      this.#forget(entry);
      entry.session?.close();
    }, this.#opts.idleTimeoutMs);
    // An idle pooled session must not keep the process alive.
    entry.idleTimer.unref();
  }
}
