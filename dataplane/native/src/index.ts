// The typed face of Ambit's one native addon (DESIGN §2, §8; Rust under ./): the network-namespace and socket
// calls Node lacks. Descriptors come back as numbers that Node then owns (`listen({ fd })`,
// `new net.Socket({ fd })`), so the byte path stays in JavaScript. Build the addon with `make install-native`.
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
  | 'ERR_NATIVE_ORIGINAL_DST';

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

/** The addon's exports, as lib.rs declares them. */
interface Addon {
  openListener(options: ListenerOptions): number;
  connect(options: ConnectOptions): Promise<number>;
  originalDestination(fd: number): Endpoint;
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
