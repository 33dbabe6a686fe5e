// The typed face of Ambit's one native addon (DESIGN §2, §8; Rust under ./): the network-namespace and socket
// calls Node lacks, whose descriptors come back as numbers that Node then owns (`listen({ fd })`,
// `new net.Socket({ fd })`), and the native HBONE byte path (issue 12: `listenHbone`, `NativeHboneClient`),
// where only decisions cross into JavaScript, and close reports come back in batches. Build the addon with
// `make install-native`.
import { closeSync } from 'node:fs';
import { createRequire } from 'node:module';
import net from 'node:net';

export type NativeErrorCode =
  | 'ERR_NATIVE_LOAD'
  | 'ERR_NATIVE_ARGUMENT'
  | 'ERR_NATIVE_NETNS'
  | 'ERR_NATIVE_SETNS'
  | 'ERR_NATIVE_SOCKET'
  | 'ERR_NATIVE_BIND'
  | 'ERR_NATIVE_LISTEN'
  | 'ERR_NATIVE_CONNECT'
  | 'ERR_NATIVE_CONNECT_REFUSED'
  | 'ERR_NATIVE_CONNECT_TIMEOUT'
  | 'ERR_NATIVE_ORIGINAL_DST'
  | 'ERR_NATIVE_TLS';

const CODES: ReadonlySet<string> = new Set<NativeErrorCode>([
  'ERR_NATIVE_LOAD',
  'ERR_NATIVE_ARGUMENT',
  'ERR_NATIVE_NETNS',
  'ERR_NATIVE_SETNS',
  'ERR_NATIVE_SOCKET',
  'ERR_NATIVE_BIND',
  'ERR_NATIVE_LISTEN',
  'ERR_NATIVE_CONNECT',
  'ERR_NATIVE_CONNECT_REFUSED',
  'ERR_NATIVE_CONNECT_TIMEOUT',
  'ERR_NATIVE_ORIGINAL_DST',
  'ERR_NATIVE_TLS',
]);

export class NativeError extends Error {
  readonly code: NativeErrorCode;
  constructor(code: NativeErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
  }
}

export interface ListenerOptions {
  /** A netns file (`/run/netns/<name>`, `/proc/<pid>/ns/net`); the caller's own netns when absent. */
  readonly netnsPath?: string;
  /** An IPv4 literal; names are not resolved. */
  readonly host: string;
  readonly port: number;
  /** IP_TRANSPARENT, for a port that TPROXY delivers to (15006, 15008). */
  readonly transparent?: boolean;
  /** Default 511, as for `server.listen()`. */
  readonly backlog?: number;
}

export interface ConnectOptions {
  readonly netnsPath?: string;
  /** An IPv4 literal; names are not resolved. */
  readonly host: string;
  readonly port: number;
  /** SO_MARK; the in-pod rules exempt the proxy's own traffic by mark 0x539 (DESIGN §7). */
  readonly mark?: number;
  /** Connect from this address (IP_TRANSPARENT, port chosen by the kernel), e.g. the original client's. */
  readonly transparentSource?: string;
  /** Default 10 000. */
  readonly timeoutMs?: number;
}

export interface Endpoint {
  readonly host: string;
  readonly port: number;
}

/** A workload's certificate and the roots it trusts, all PEM: the shape of `@ambit/hbone`'s `WorkloadTlsMaterial`. */
export interface NativeTlsMaterial {
  /** The leaf certificate; it must name exactly one SPIFFE id. */
  readonly cert: string;
  /** Its private key (PKCS#8 or SEC1). */
  readonly key: string;
  /** Intermediates sent after the leaf. */
  readonly chain?: readonly string[];
  /** Every root a peer certificate may chain to (two during a rotation). */
  readonly trustBundle: readonly string[];
}

/** Header values carried by a CONNECT (DESIGN §7), as received. */
export interface NativeConnectHeaders {
  /** RFC 7239, e.g. `for=10.0.0.7`. */
  readonly forwarded?: string;
  readonly baggage?: string;
  readonly traceparent?: string;
}

/** One inbound CONNECT, as `@ambit/hbone`'s `Connection`: the facts its decision gets. */
export interface InboundConnect {
  /** Unique in the process: `closeConnection(id)` resets the stream, and its `ClosedConnection` names it. */
  readonly id: number;
  /** The original destination `ip:port` (already checked to be one). */
  readonly authority: string;
  /** SPIFFE id of the client certificate (chain verified against the listener's trust bundle). */
  readonly peerIdentity: string;
  /** TCP peer `ip:port` of the HBONE connection. */
  readonly peerAddress: string;
  /** Local `ip:port` the connection arrived on. */
  readonly localAddress: string;
  readonly headers: NativeConnectHeaders;
}

/** How the native side dials a target: inside a netns, marked, from an address. */
export interface NativeDialOptions {
  readonly netnsPath?: string;
  /** SO_MARK, e.g. 0x539 (DESIGN §7). */
  readonly mark?: number;
}

/**
 * The answer to a CONNECT (DESIGN §7): 200 dials `target` (`ip:port`) and splices, answering 503 if the dial
 * fails; 401 is a policy denial; 503 means nothing to deliver to. A throw or a rejection is answered 503.
 */
export type InboundVerdict =
  | (NativeDialOptions & {
      readonly status: 200;
      readonly target: string;
      /** Dial from this (non-local) address with IP_TRANSPARENT: the caller's, so the workload sees it. */
      readonly transparentSource?: string;
    })
  | { readonly status: 401; readonly reason?: string }
  | { readonly status: 503; readonly reason?: string };

/**
 * How a connection that reached its decision ended; every such connection is reported once, after its decision
 * settled, in batches (a burst of short connections is one call).
 */
export interface ClosedConnection {
  /** The id its decision was given. */
  readonly id: number;
  /**
   * Bytes from the connection's caller towards its target (the request direction): application → peer for an
   * outbound listener, HBONE client → target for a server.
   */
  readonly toTarget: number;
  /** Bytes from the target back to the caller. */
  readonly fromTarget: number;
  /** Why the decision could not be carried out: refused, denied, a dial, TLS or CONNECT failure. */
  readonly error?: string;
  /** Why a carried connection ended in a reset (`closed by the proxy` after `closeConnection` or `close`). */
  readonly reset?: string;
}

/** Where close reports go: a server's streams, or the connections a client's listeners accepted. */
export interface Reported {
  /** Batches of `ClosedConnection`s; a throw goes to `onReportError`, never to Node (where it would be fatal). */
  onClose?(closed: readonly ClosedConnection[]): void;
  onReportError?(error: unknown): void;
}

export interface HboneListenOptions extends ListenerOptions, Reported {
  /**
   * The certificate this listener presents (the destination workload's) and the trust bundle clients must chain
   * to. Without it every handshake is refused (fail closed) until `setTls`.
   */
  readonly tls?: NativeTlsMaterial;
  decide(connect: InboundConnect): InboundVerdict | Promise<InboundVerdict>;
  /** A decision that threw (it was answered 503). */
  onDecisionError?(error: unknown, connect: InboundConnect): void;
}

/** Counters of one native HBONE server. */
export interface HboneServerStats {
  readonly connectionsAccepted: number;
  readonly connectionsOpen: number;
  /** Connections refused because the listener has no certificate yet. */
  readonly noCertificate: number;
  /** TLS handshakes that failed (no or untrusted client certificate, not TLS 1.3, ...). */
  readonly handshakeFailures: number;
  /** Verified clients whose certificate names no or several SPIFFE ids. */
  readonly identityFailures: number;
  /** Clients that did not negotiate ALPN h2. */
  readonly alpnFailures: number;
  readonly streamsTotal: number;
  readonly streamsOpen: number;
  readonly refused400: number;
  readonly denied401: number;
  readonly failed503: number;
  readonly spliced: number;
  readonly resets: number;
  /** From HBONE clients to targets. */
  readonly bytesIn: number;
  /** From targets to HBONE clients. */
  readonly bytesOut: number;
}

export interface NativeHboneServer {
  readonly address: Endpoint;
  /** Certificate and trust bundle for connections accepted from now on (rotation). */
  setTls(tls: NativeTlsMaterial): void;
  stats(): HboneServerStats;
  /** Resets one stream (RST_STREAM to the client, RST to the target); false when it is not open. */
  closeConnection(id: number): boolean;
  /**
   * Stops accepting and sends GOAWAY on every connection: clients open new streams elsewhere, open streams go
   * on. The server closes itself once its last connection has ended; `close` cuts that short.
   */
  drain(): void;
  /** Stops accepting and resets every stream; releases the decision, so Node may exit. */
  close(): void;
}

/** One connection accepted by a native outbound listener. */
export interface OutboundConnect {
  /** Unique in the process: `closeConnection(id)` resets it, and its `ClosedConnection` names it. */
  readonly id: number;
  /** The application's `ip:port`. */
  readonly sourceAddress: string;
  /** Where it was going: SO_ORIGINAL_DST after a REDIRECT, else the address it reached. */
  readonly destination: string;
  /** The listener's `ip:port` it arrived on. */
  readonly localAddress: string;
}

/** Where an outbound connection leaves from. */
export interface NativeSourceOptions extends NativeDialOptions {
  /** Bind to this local IPv4 address (the source pod's IP); part of the pool key. */
  readonly sourceIp?: string;
}

/**
 * What to do with one outbound connection (`planOutbound`'s kinds, as data):
 * - `hbone`: CONNECT to `authority` through `proxy` (both `ip:port`), presenting the certificate set for
 *   `sourceIdentity` and accepting only a server naming one of `identities`; `forwarded` defaults to
 *   `for=<source IP>`. Pooled by (sourceIdentity, identities, sourceIp, proxy, netnsPath, mark).
 * - `passthrough`: plain TCP to `target` (also a same-node delivery: into the destination pod's netns, from the
 *   caller's address).
 * - `refuse`: reset the connection.
 * A failure to carry the plan (refused CONNECT, TLS or identity failure, dial error) resets the connection;
 * so does a decision that throws.
 */
export type OutboundPlan =
  | (NativeSourceOptions & {
      readonly kind: 'hbone';
      readonly proxy: string;
      readonly authority: string;
      readonly sourceIdentity: string;
      readonly identities: readonly string[];
      readonly headers?: NativeConnectHeaders;
    })
  | (NativeSourceOptions & {
      readonly kind: 'passthrough';
      readonly target: string;
      /** Dial from this (non-local) address with IP_TRANSPARENT: delivering into a pod as its caller. */
      readonly transparentSource?: string;
    })
  | { readonly kind: 'refuse'; readonly reason?: string };

export interface OutboundListenOptions extends ListenerOptions {
  decide(connect: OutboundConnect): OutboundPlan | Promise<OutboundPlan>;
  /** A decision that threw (the connection was reset). */
  onDecisionError?(error: unknown, connect: OutboundConnect): void;
}

export interface NativeHboneClientOptions extends Reported {
  /** @default 100 (DESIGN §7) */
  readonly maxStreamsPerConnection?: number;
  /** Close a pooled connection after it carried no stream for this long. @default 60_000 */
  readonly idleTimeoutMs?: number;
  /** Dial + TLS + HTTP/2 preface of a new connection, and a passthrough dial. @default 10_000 */
  readonly connectTimeoutMs?: number;
}

/** Counters of one native HBONE client and its listeners. */
export interface HboneClientStats {
  /** Connections accepted by its outbound listeners. */
  readonly accepted: number;
  /** Reset by a `refuse` plan (or a throwing decision). */
  readonly refused: number;
  /** Reset because the plan could not be carried. */
  readonly failed: number;
  readonly passthrough: number;
  readonly hbone: number;
  readonly connectionsOpened: number;
  readonly connectionsOpen: number;
  readonly connectionFailures: number;
  readonly streamsOpen: number;
  readonly resets: number;
  /** From applications to peers. */
  readonly bytesOut: number;
  /** From peers to applications. */
  readonly bytesIn: number;
  readonly pooledConnections: number;
  readonly pooledStreams: number;
}

export interface NativeOutboundListener {
  readonly address: Endpoint;
  /** Stops accepting; open connections go on, and the listener closes itself after the last. */
  drain(): void;
  /** Stops accepting and resets the connections it accepted; releases the decision. */
  close(): void;
}

/** The flat objects that cross into Rust (hbone_api.rs); the wrapper below is what callers see. */
type RawHboneClientOptions = Pick<
  NativeHboneClientOptions,
  'maxStreamsPerConnection' | 'idleTimeoutMs' | 'connectTimeoutMs'
>;

interface RawInboundConnect {
  readonly id: number;
  readonly peerIdentity: string;
  readonly peerAddress: string;
  readonly localAddress: string;
  readonly authority: string;
  readonly forwarded?: string;
  readonly baggage?: string;
  readonly traceparent?: string;
}

interface RawInboundVerdict {
  readonly status: number;
  readonly target?: string;
  readonly netnsPath?: string;
  readonly mark?: number;
  readonly transparentSource?: string;
}

interface RawOutboundPlan {
  readonly kind: string;
  readonly proxy?: string;
  readonly authority?: string;
  readonly sourceIdentity?: string;
  readonly identities?: readonly string[];
  readonly target?: string;
  readonly netnsPath?: string;
  readonly mark?: number;
  readonly sourceIp?: string;
  readonly transparentSource?: string;
  readonly forwarded?: string;
  readonly baggage?: string;
  readonly traceparent?: string;
}

/** As the addon sends it: absent fields are null. */
interface RawClosedConnection {
  readonly id: number;
  readonly toTarget: number;
  readonly fromTarget: number;
  readonly error?: string | null;
  readonly reset?: string | null;
}

type RawSink = (closed: RawClosedConnection[]) => void;

interface RawHboneServer {
  readonly address: Endpoint;
  setTls(tls: NativeTlsMaterial): void;
  closeConnection(id: number): boolean;
  drain(): void;
  close(): void;
  stats(): Record<string, number>;
}

interface RawOutboundListener {
  readonly address: Endpoint;
  drain(): void;
  close(): void;
}

interface RawHboneClient {
  setCertificate(identity: string, tls: NativeTlsMaterial): void;
  removeCertificate(identity: string): boolean;
  listenOutbound(
    options: ListenerOptions,
    decide: (connect: OutboundConnect) => Promise<RawOutboundPlan>,
  ): RawOutboundListener;
  closeConnection(id: number): boolean;
  stats(): Record<string, number>;
  drain(): void;
  close(): void;
}

/** The addon's exports, as lib.rs and hbone_api.rs declare them. */
interface Addon {
  openListener(options: ListenerOptions): number;
  connect(options: ConnectOptions): Promise<number>;
  originalDestination(fd: number): Endpoint;
  listenHbone(
    options: ListenerOptions,
    tls: NativeTlsMaterial | undefined,
    decide: (connect: RawInboundConnect) => Promise<RawInboundVerdict>,
    onClosed: RawSink | undefined,
  ): RawHboneServer;
  HboneClient: new (options: RawHboneClientOptions, onClosed: RawSink | undefined) => RawHboneClient;
}

const ADDON_FILE = '../ambit_native.node';
let addon: Addon | undefined;

/** Loaded on first use, so that importing this module never fails where only the TypeScript is needed. */
function loaded(): Addon {
  if (addon === undefined) {
    try {
      addon = createRequire(import.meta.url)(ADDON_FILE) as Addon;
    } catch (error) {
      throw new NativeError('ERR_NATIVE_LOAD', `cannot load ${ADDON_FILE}; run \`make install-native\``, {
        cause: error,
      });
    }
  }
  return addon;
}

/**
 * The one place addon failures become `NativeError`s. The Rust side starts every message with its code
 * (`ERR_NATIVE_SETNS: setns /run/netns/x: EPERM: …`) because napi-rs reserves `error.code` for its own status;
 * anything without such a prefix is napi-rs refusing an argument of the wrong type.
 */
export function fromAddonError(error: unknown): NativeError {
  if (error instanceof NativeError) return error;
  const message = error instanceof Error ? error.message : String(error);
  const match = /^(ERR_NATIVE_[A-Z_]+): (.*)$/s.exec(message);
  const code = match?.[1];
  if (match?.[2] !== undefined && code !== undefined && CODES.has(code)) {
    return new NativeError(code as NativeErrorCode, match[2], { cause: error });
  }
  return new NativeError('ERR_NATIVE_ARGUMENT', message, { cause: error });
}

/** A listening socket in `netnsPath`; hand it to `net.createServer().listen({ fd })`. */
export function openListener(options: ListenerOptions): number {
  try {
    return loaded().openListener(options);
  } catch (error) {
    throw fromAddonError(error);
  }
}

/** A connected socket made in `netnsPath`, as a descriptor; the connect waits on libuv's thread pool. */
export async function connect(options: ConnectOptions): Promise<number> {
  try {
    return await loaded().connect(options);
  } catch (error) {
    throw fromAddonError(error);
  }
}

/** `connect`, adopted by Node as a `net.Socket`. */
export async function connectSocket(
  options: ConnectOptions & { readonly allowHalfOpen?: boolean },
): Promise<net.Socket> {
  const fd = await connect(options);
  try {
    return new net.Socket({ fd, readable: true, writable: true, allowHalfOpen: options.allowHalfOpen });
  } catch (error) {
    closeSync(fd);
    throw error;
  }
}

/** Where an accepted connection was going before an iptables REDIRECT (SO_ORIGINAL_DST). */
export function originalDestination(fd: number): Endpoint {
  try {
    return loaded().originalDestination(fd);
  } catch (error) {
    throw fromAddonError(error);
  }
}

/**
 * Node's private libuv handle: the only place a `net.Socket` exposes its descriptor (`_handle.fd`, a number on
 * Linux). Typed as narrowly as it is read, and read nowhere else.
 */
interface SocketWithHandle {
  readonly _handle?: { readonly fd?: unknown } | null;
}

export function originalDestinationOf(socket: net.Socket): Endpoint {
  const fd = (socket as unknown as SocketWithHandle)._handle?.fd;
  if (typeof fd !== 'number' || fd < 0) {
    throw new NativeError('ERR_NATIVE_ARGUMENT', 'the socket has no descriptor (closed, or not TCP)');
  }
  return originalDestination(fd);
}

/** `fn`, with addon failures turned into `NativeError`s. */
function native<T>(fn: () => T): T {
  try {
    return fn();
  } catch (error) {
    throw fromAddonError(error);
  }
}

function listenerOptions(options: ListenerOptions): ListenerOptions {
  const { netnsPath, host, port, transparent, backlog } = options;
  return { netnsPath, host, port, transparent, backlog };
}

function inboundConnect(raw: RawInboundConnect): InboundConnect {
  const headers: { forwarded?: string; baggage?: string; traceparent?: string } = {};
  if (raw.forwarded !== undefined) headers.forwarded = raw.forwarded;
  if (raw.baggage !== undefined) headers.baggage = raw.baggage;
  if (raw.traceparent !== undefined) headers.traceparent = raw.traceparent;
  return {
    id: raw.id,
    authority: raw.authority,
    peerIdentity: raw.peerIdentity,
    peerAddress: raw.peerAddress,
    localAddress: raw.localAddress,
    headers,
  };
}

function rawVerdict(verdict: InboundVerdict): RawInboundVerdict {
  if (verdict.status !== 200) return { status: verdict.status };
  const { status, target, netnsPath, mark, transparentSource } = verdict;
  return { status, target, netnsPath, mark, transparentSource };
}

function rawPlan(plan: OutboundPlan): RawOutboundPlan {
  switch (plan.kind) {
    case 'refuse':
      return { kind: 'refuse' };
    case 'passthrough': {
      const { kind, target, netnsPath, mark, sourceIp, transparentSource } = plan;
      return { kind, target, netnsPath, mark, sourceIp, transparentSource };
    }
    case 'hbone': {
      const { kind, proxy, authority, sourceIdentity, identities, netnsPath, mark, sourceIp, headers } = plan;
      return { kind, proxy, authority, sourceIdentity, identities, netnsPath, mark, sourceIp, ...headers };
    }
  }
}

/** The reports' sink for the addon: nulls dropped, and a throw kept from Node (it would be fatal there). */
function sink(o: Reported): RawSink | undefined {
  if (o.onClose === undefined) return undefined;
  return (raw) => {
    const closed = raw.map(({ id, toTarget, fromTarget, error, reset }): ClosedConnection => {
      const c: { -readonly [K in keyof ClosedConnection]: ClosedConnection[K] } = {
        id,
        toTarget,
        fromTarget,
      };
      if (error != null) c.error = error;
      if (reset != null) c.reset = reset;
      return c;
    });
    try {
      o.onClose?.(closed);
    } catch (error) {
      o.onReportError?.(error);
    }
  };
}

/**
 * An HBONE server on a new listener (in `netnsPath` when given): mutual TLS 1.3 with ALPN h2 against `tls`,
 * HTTP/2 CONNECT streams, one `decide` call per stream, then the bytes in Rust. Keeps Node running until
 * `close()`, like a `net.Server`.
 */
export function listenHbone(options: HboneListenOptions): NativeHboneServer {
  const decide = async (raw: RawInboundConnect): Promise<RawInboundVerdict> => {
    const connect = inboundConnect(raw);
    try {
      return rawVerdict(await options.decide(connect));
    } catch (error) {
      options.onDecisionError?.(error, connect);
      return { status: 503 };
    }
  };
  const onClosed = sink(options);
  const server = native(() => loaded().listenHbone(listenerOptions(options), options.tls, decide, onClosed));
  return {
    address: server.address,
    setTls: (tls) => native(() => server.setTls(tls)),
    stats: () => server.stats() as unknown as HboneServerStats,
    closeConnection: (id) => server.closeConnection(id),
    drain: () => server.drain(),
    close: () => server.close(),
  };
}

/**
 * The client side of the native HBONE path: certificates per source identity, a connection pool, and
 * outbound listeners whose connections are carried as their decision plans.
 */
export class NativeHboneClient {
  readonly #raw: RawHboneClient;

  constructor(options: NativeHboneClientOptions = {}) {
    const Client = loaded().HboneClient;
    const { maxStreamsPerConnection, idleTimeoutMs, connectTimeoutMs } = options;
    const raw = { maxStreamsPerConnection, idleTimeoutMs, connectTimeoutMs };
    this.#raw = native(() => new Client(raw, sink(options)));
  }

  /** The certificate presented as `identity` on connections opened from now on; it must name that SPIFFE id. */
  setCertificate(identity: string, tls: NativeTlsMaterial): void {
    native(() => this.#raw.setCertificate(identity, tls));
  }

  removeCertificate(identity: string): boolean {
    return this.#raw.removeCertificate(identity);
  }

  /** A native listener (in `netnsPath` when given) whose connections are carried as `decide` plans. */
  listenOutbound(options: OutboundListenOptions): NativeOutboundListener {
    const decide = async (connect: OutboundConnect): Promise<RawOutboundPlan> => {
      try {
        return rawPlan(await options.decide(connect));
      } catch (error) {
        options.onDecisionError?.(error, connect);
        return { kind: 'refuse' };
      }
    };
    const listener = native(() => this.#raw.listenOutbound(listenerOptions(options), decide));
    return { address: listener.address, drain: () => listener.drain(), close: () => listener.close() };
  }

  /** Resets one connection (RST to the application and the far end); false when it is not open. */
  closeConnection(id: number): boolean {
    return this.#raw.closeConnection(id);
  }

  stats(): HboneClientStats {
    return this.#raw.stats() as unknown as HboneClientStats;
  }

  /** Every listener stops accepting; open connections go on. */
  drain(): void {
    this.#raw.drain();
  }

  /** Closes every listener, pooled connection and stream of this client. */
  close(): void {
    this.#raw.close();
  }
}
