// A proxy's config subscription: holds the stream to the control plane, applies each push, answers ACK or NACK,
// keeps the last good state when the control plane is gone, and reconnects with backoff (a reconnect starts
// from a full snapshot).
import type * as pb from '@ambit/codegen/proto';
import { Metadata, type ClientDuplexStream } from '@grpc/grpc-js';
import { applyPush, EMPTY_STATE, type ProxyState, type Rejection } from './apply-push.ts';

export interface SubscriptionOptions {
  readonly client: pb.ConfigDiscoveryServiceClient;
  readonly hello: pb.Hello;
  /** The bound service-account token, read fresh for every connection (it rotates). */
  token(): Promise<string>;
  /** Called with each new state, after it is in force. */
  onUpdate(state: ProxyState, rejected: readonly Rejection[]): void;
  log?(line: string): void;
  /** @default 500 */
  readonly initialBackoffMs?: number;
  /** @default 15_000 */
  readonly maxBackoffMs?: number;
}

export class ConfigSubscription {
  readonly #opts: SubscriptionOptions;
  #state: ProxyState = EMPTY_STATE;
  #call: ClientDuplexStream<pb.SubscribeRequest, pb.SubscribeResponse> | undefined;
  #stopped = false;
  #backoff: number;
  #timer: NodeJS.Timeout | undefined;
  #connected = false;

  constructor(opts: SubscriptionOptions) {
    this.#opts = opts;
    this.#backoff = opts.initialBackoffMs ?? 500;
  }

  /** The state in force: the last good config, kept while the control plane is unreachable. */
  get state(): ProxyState {
    return this.#state;
  }

  get connected(): boolean {
    return this.#connected;
  }

  start(): void {
    this.#stopped = false;
    void this.#connect();
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#call?.cancel();
    this.#call = undefined;
  }

  async #connect(): Promise<void> {
    if (this.#stopped) return;
    let token: string;
    try {
      token = await this.#opts.token();
    } catch (err) {
      this.#retry(`cannot read token: ${String(err)}`);
      return;
    }
    const metadata = new Metadata();
    metadata.set('authorization', `Bearer ${token}`);
    const call = this.#opts.client.subscribe(metadata);
    this.#call = call;
    call.on('data', (push: pb.SubscribeResponse) => {
      this.#connected = true;
      this.#backoff = this.#opts.initialBackoffMs ?? 500;
      const { state, rejected } = applyPush(this.#state, push);
      this.#state = state;
      this.#opts.onUpdate(state, rejected);
      if (rejected.length === 0) {
        call.write({ request: { $case: 'ack', value: { version: push.version } } });
      } else {
        const message = rejected.map((r) => r.reason).join('; ');
        this.#opts.log?.(
          `config: rejected ${rejected.length} record(s) of version ${push.version}: ${message}`,
        );
        call.write({ request: { $case: 'nack', value: { version: push.version, message, rejected } } });
      }
    });
    call.on('error', (err: Error) => {
      if (this.#call !== call) return;
      this.#retry(err.message);
    });
    call.on('end', () => {
      if (this.#call === call) this.#retry('stream ended');
    });
    call.write({ request: { $case: 'hello', value: this.#opts.hello } });
  }

  #retry(why: string): void {
    this.#connected = false;
    this.#call = undefined;
    if (this.#stopped) return;
    const delay = this.#backoff;
    this.#backoff = Math.min(this.#backoff * 2, this.#opts.maxBackoffMs ?? 15_000);
    this.#opts.log?.(
      `config: disconnected (${why}); keeping version ${this.#state.version || 'none'}, retry in ${delay} ms`,
    );
    this.#timer = setTimeout(() => void this.#connect(), delay);
  }
}
