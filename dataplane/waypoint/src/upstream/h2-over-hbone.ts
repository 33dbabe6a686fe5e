// HTTP/2 (prior knowledge, h2c) to endpoints over HBONE streams, for gRPC and callers that spoke HTTP/2: one client
// session per endpoint and caller identity, multiplexing its requests, opened on first use and dropped when it
// closes or goes away.
import { connect, type ClientHttp2Session } from 'node:http2';
import { streamKey, type EndpointTarget } from './endpoint-target.ts';
import type { ForwardedSource, UpstreamConnector } from './upstream-connector.ts';

export class H2Sessions {
  readonly #connect: UpstreamConnector;
  readonly #sessions = new Map<string, Promise<ClientHttp2Session>>();

  constructor(connect: UpstreamConnector) {
    this.#connect = connect;
  }

  static key(target: EndpointTarget, source: ForwardedSource | undefined): string {
    return streamKey(target, source?.identity);
  }

  /** Open sessions (each is one upstream connection). */
  get size(): number {
    return this.#sessions.size;
  }

  has(key: string): boolean {
    return this.#sessions.has(key);
  }

  session(target: EndpointTarget, source: ForwardedSource | undefined): Promise<ClientHttp2Session> {
    const key = H2Sessions.key(target, source);
    let s = this.#sessions.get(key);
    if (!s) {
      s = this.#open(target, source, key);
      this.#sessions.set(key, s);
      s.catch(() => this.#sessions.delete(key));
    }
    return s;
  }

  async #open(
    target: EndpointTarget,
    source: ForwardedSource | undefined,
    key: string,
  ): Promise<ClientHttp2Session> {
    const stream = await this.#connect(target, source);
    const session = connect(`http://${target.ip}:${target.port}`, { createConnection: () => stream });
    const drop = () => {
      if (this.#sessions.get(key) === current) this.#sessions.delete(key);
    };
    const current = Promise.resolve(session);
    session.once('close', drop);
    session.once('goaway', drop);
    session.on('error', drop);
    this.#sessions.set(key, current);
    return session;
  }

  close(): void {
    for (const s of this.#sessions.values())
      void s.then(
        (x) => x.close(),
        () => undefined,
      );
    this.#sessions.clear();
  }
}
