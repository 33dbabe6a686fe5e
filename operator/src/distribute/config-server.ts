// The config subscription service (issue 4): each proxy subscribes, gets a full snapshot, then deltas; one push is
// in flight per proxy at a time, later changes coalesce into the next push, and a NACK is reported and leaves
// the proxy on its last good records.
import type * as pb from '@ambit/codegen/proto';
import type { ServerDuplexStream } from '@grpc/grpc-js';
import { status as GrpcStatus } from '@grpc/grpc-js';
import { bearerToken } from '../ca/token-review.ts';
import { ChangeJournal, JOURNALED } from './change-journal.ts';
import { EMPTY_CONFIG, type DiffHints } from './delta.ts';
import { afterRejection, buildPush, isEmptyPush } from './push.ts';
import type { FullConfig, ProxyConfig } from './scope.ts';

/** Who is calling, as the authenticator established it. */
export interface Subscriber {
  readonly kind: 'ztunnel' | 'waypoint' | 'gateway';
  /** Node (ztunnel) or `<namespace>/<name>` (waypoint, ingress gateway). */
  readonly name: string;
}

export interface NackReport {
  readonly proxy: string;
  readonly version: string;
  readonly message: string;
  readonly rejected: readonly { kind: string; id: string; reason: string }[];
}

export interface ConfigServerOptions {
  /** Authenticates the call (bearer token) and authorizes the Hello; throws a SubscriptionError to refuse. */
  admit(metadataToken: string | undefined, hello: pb.Hello): Promise<Subscriber>;
  /** The records a subscriber receives from the full config. */
  scope(subscriber: Subscriber, config: FullConfig): ProxyConfig;
  onNack?(report: NackReport): void;
  onAck?(proxy: string, version: string): void;
  /** Every push as sent, for metrics and tests. */
  onPush?(proxy: string, push: pb.SubscribeResponse): void;
  log?(line: string): void;
}

/** A refused subscription, mapped to a gRPC status at the edge. */
export class SubscriptionError extends Error {
  readonly code: 'ERR_UNAUTHENTICATED' | 'ERR_PERMISSION_DENIED' | 'ERR_BAD_HELLO';
  constructor(code: SubscriptionError['code'], message: string) {
    super(message);
    this.code = code;
  }
}

function grpcStatusOf(err: unknown): GrpcStatus {
  if (err instanceof SubscriptionError) {
    return err.code === 'ERR_UNAUTHENTICATED'
      ? GrpcStatus.UNAUTHENTICATED
      : err.code === 'ERR_PERMISSION_DENIED'
        ? GrpcStatus.PERMISSION_DENIED
        : GrpcStatus.INVALID_ARGUMENT;
  }
  return GrpcStatus.INTERNAL;
}

type Stream = ServerDuplexStream<pb.SubscribeRequest, pb.SubscribeResponse>;

/** Ends a call with a gRPC status (grpc-js turns an emitted error with a code into the call's status). */
function refuse(stream: Stream, code: GrpcStatus, details: string): void {
  stream.emit('error', { code, details });
}

/** One connected proxy. */
class Connection {
  readonly subscriber: Subscriber;
  readonly stream: Stream;
  /** What the proxy holds (after its last ACK/NACK). */
  held: ProxyConfig = EMPTY_CONFIG;
  /** The full config and its version that `held` was scoped from (the change journal counts from there). */
  heldFrom: { readonly config: FullConfig; readonly version: number } | undefined;
  /** The push awaiting an answer, with what the proxy held before it. */
  inFlight:
    | {
        version: string;
        configVersion: number;
        from: FullConfig;
        before: ProxyConfig;
        sent: ProxyConfig;
      }
    | undefined;
  sentFull = false;
  constructor(subscriber: Subscriber, stream: Stream) {
    this.subscriber = subscriber;
    this.stream = stream;
  }
  get label(): string {
    return `${this.subscriber.kind}/${this.subscriber.name}`;
  }
}

/** Counters of the config channel since start, for /metrics. */
export interface ConfigServerStats {
  readonly subscribers: number;
  readonly pushes: { readonly full: number; readonly delta: number };
  readonly acks: number;
  readonly nacks: number;
}

export class ConfigServer {
  readonly #opts: ConfigServerOptions;
  readonly #counts = { full: 0, delta: 0, acks: 0, nacks: 0 };
  readonly #connections = new Set<Connection>();
  #config: FullConfig = EMPTY_CONFIG;
  #version = 0;
  readonly #journal = new ChangeJournal();

  constructor(opts: ConfigServerOptions) {
    this.#opts = opts;
  }

  get version(): string {
    return String(this.#version);
  }

  get stats(): ConfigServerStats {
    const c = this.#counts;
    return {
      subscribers: this.#connections.size,
      pushes: { full: c.full, delta: c.delta },
      acks: c.acks,
      nacks: c.nacks,
    };
  }

  get subscribers(): readonly string[] {
    return [...this.#connections].map((c) => c.label).sort();
  }

  /** Takes a new full config; every subscriber gets the delta from what it holds (if anything changed for it). */
  update(config: FullConfig): void {
    this.#journal.record(this.#version + 1, this.#config, config);
    this.#config = config;
    this.#version += 1;
    for (const c of this.#connections) this.#pushIfIdle(c);
    this.#pruneJournal();
  }

  /** Keeps only the versions some subscriber will count from (the oldest held or in flight). */
  #pruneJournal(): void {
    let floor = this.#version;
    for (const c of this.#connections) {
      floor = Math.min(floor, c.heldFrom?.version ?? c.inFlight?.configVersion ?? this.#version);
    }
    this.#journal.prune(floor);
  }

  /** The grpc-js handler of `Subscribe`. */
  readonly subscribe = (stream: Stream): void => {
    let connection: Connection | undefined;
    const token = bearerToken(stream.metadata);
    stream.on('data', (req: pb.SubscribeRequest) => {
      const r = req.request;
      if (!connection) {
        if (r?.$case !== 'hello') {
          refuse(stream, GrpcStatus.INVALID_ARGUMENT, 'the first message must be a Hello');
          return;
        }
        this.#opts.admit(token, r.value).then(
          (subscriber) => {
            if (stream.destroyed) return;
            connection = new Connection(subscriber, stream);
            this.#connections.add(connection);
            this.#opts.log?.(`config: ${connection.label} subscribed`);
            this.#pushIfIdle(connection);
          },
          (err: unknown) => {
            const message = err instanceof Error ? err.message : String(err);
            this.#opts.log?.(`config: subscription refused: ${message}`);
            refuse(stream, grpcStatusOf(err), message);
          },
        );
        return;
      }
      if (r?.$case === 'ack' || r?.$case === 'nack') this.#answer(connection, r);
    });
    const close = () => {
      if (connection && this.#connections.delete(connection))
        this.#opts.log?.(`config: ${connection.label} left`);
    };
    stream.on('end', () => {
      close();
      stream.end();
    });
    stream.on('error', close);
    stream.on('close', close);
  };

  #answer(c: Connection, r: { $case: 'ack'; value: pb.Ack } | { $case: 'nack'; value: pb.Nack }): void {
    const pending = c.inFlight;
    if (!pending || pending.version !== r.value.version) return; // stale answer
    c.inFlight = undefined;
    c.heldFrom = { config: pending.from, version: pending.configVersion };
    if (r.$case === 'ack') {
      this.#counts.acks += 1;
      c.held = pending.sent;
      this.#opts.onAck?.(c.label, pending.version);
    } else {
      this.#counts.nacks += 1;
      c.held = afterRejection(pending.before, pending.sent, r.value.rejected);
      this.#opts.onNack?.({
        proxy: c.label,
        version: pending.version,
        message: r.value.message,
        rejected: r.value.rejected,
      });
    }
    // Push again only for a newer config: after a NACK, resending what was just rejected would loop.
    if (this.#version > pending.configVersion) this.#pushIfIdle(c);
  }

  /**
   * For a kind that the proxy holds and receives whole (a ztunnel's workloads and services: the very maps of the
   * full config), only the ids the journal saw change since the held version can differ. Anything else (a scoped
   * map, a map rebuilt after a NACK, a version the journal no longer reaches) is compared in full.
   */
  #hints(c: Connection, next: ProxyConfig): DiffHints {
    const from = c.heldFrom;
    if (!from) return {};
    const touched = this.#journal.since(from.version);
    if (!touched) return {};
    const hints: { -readonly [K in keyof DiffHints]: DiffHints[K] } = {};
    for (const kind of JOURNALED) {
      if (c.held[kind] === from.config[kind] && next[kind] === this.#config[kind])
        hints[kind] = touched[kind];
    }
    return hints;
  }

  #pushIfIdle(c: Connection): void {
    if (c.inFlight || c.stream.destroyed) return;
    const next = this.#opts.scope(c.subscriber, this.#config);
    const full = !c.sentFull;
    const push = buildPush(this.version, c.held, next, full, full ? undefined : this.#hints(c, next));
    if (isEmptyPush(push)) return;
    c.sentFull = true;
    this.#counts[full ? 'full' : 'delta'] += 1;
    c.inFlight = {
      version: push.version,
      configVersion: this.#version,
      from: this.#config,
      before: c.held,
      sent: next,
    };
    this.#opts.onPush?.(c.label, push);
    c.stream.write(push);
  }
}
