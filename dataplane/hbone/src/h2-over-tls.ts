// One client HBONE session: TCP through the SocketFactory, TLS 1.3 with the source workload's certificate, then
// HTTP/2 with HBONE's windows. The pool decides when to call this; this file only opens.
import { once } from 'node:events';
import { connect as h2connect, type ClientHttp2Session, type Http2Session } from 'node:http2';
import { connect as tlsConnect, type ConnectionOptions, type TLSSocket } from 'node:tls';
import { asError, HboneError } from './errors.ts';
import { CONNECTION_WINDOW_BYTES, H2_SETTINGS, MAX_SESSION_MEMORY_MB } from './h2-settings.ts';
import type { HostPort } from './connect-headers.ts';
import type { SocketFactory } from './socket-factory.ts';
import { ALPN_H2 } from './tls-options.ts';

export interface OpenSessionOptions {
  readonly socketFactory: SocketFactory;
  readonly proxy: HostPort;
  readonly sourceIp?: string;
  /** From `clientTlsOptions`. */
  readonly tls: ConnectionOptions;
  /** Deadline for dial + handshake + HTTP/2 preface. */
  readonly timeoutMs: number;
}

/** Widens the session's receive window once its native handle exists. */
export function widenConnectionWindow(session: Http2Session): void {
  const apply = () => {
    if (!session.destroyed) session.setLocalWindowSize(CONNECTION_WINDOW_BYTES);
  };
  if (session.connecting) session.once('connect', apply);
  else apply();
}

function where(proxy: HostPort): string {
  return proxy.host.includes(':') ? `[${proxy.host}]:${proxy.port}` : `${proxy.host}:${proxy.port}`;
}

async function handshake(socket: TLSSocket, proxy: HostPort): Promise<void> {
  try {
    await once(socket, 'secureConnect');
  } catch (err) {
    socket.destroy();
    if (err instanceof HboneError) throw err; // checkServerIdentity's ERR_HBONE_IDENTITY
    throw new HboneError('ERR_HBONE_TLS', `tls handshake with ${where(proxy)} failed`, { cause: err });
  }
  if (socket.alpnProtocol !== ALPN_H2) {
    socket.destroy();
    throw new HboneError(
      'ERR_HBONE_ALPN',
      `${where(proxy)} did not agree on ALPN h2 (got ${String(socket.alpnProtocol)}); is it an HBONE port?`,
    );
  }
}

async function open(
  opts: OpenSessionOptions,
  track: (s: { destroy(): void }) => void,
): Promise<ClientHttp2Session> {
  let tcp;
  try {
    tcp = await opts.socketFactory({
      host: opts.proxy.host,
      port: opts.proxy.port,
      ...(opts.sourceIp !== undefined ? { sourceIp: opts.sourceIp } : {}),
    });
  } catch (err) {
    throw new HboneError(
      'ERR_HBONE_DIAL',
      `could not reach ${where(opts.proxy)}; maybe a NetworkPolicy is blocking HBONE port 15008`,
      { cause: err },
    );
  }
  track(tcp);
  // Small CONNECT headers and interactive payloads must not wait for Nagle.
  tcp.setNoDelay(true);
  const tlsSocket = tlsConnect({ ...opts.tls, socket: tcp });
  track(tlsSocket);
  await handshake(tlsSocket, opts.proxy);
  const session = h2connect(`https://${where(opts.proxy)}`, {
    createConnection: () => tlsSocket,
    settings: H2_SETTINGS,
    maxSessionMemory: MAX_SESSION_MEMORY_MB,
  });
  track(session);
  try {
    await once(session, 'connect');
  } catch (err) {
    session.destroy();
    throw new HboneError('ERR_HBONE_SESSION', `http/2 session with ${where(opts.proxy)} failed`, {
      cause: err,
    });
  }
  widenConnectionWindow(session);
  return session;
}

/** Opens one session, or rejects with a typed error; nothing is left open on failure or timeout. */
export async function openH2OverTls(opts: OpenSessionOptions): Promise<ClientHttp2Session> {
  const opened: { destroy(): void }[] = [];
  let failed = false;
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(
        new HboneError(
          'ERR_HBONE_TIMEOUT',
          `connecting to ${where(opts.proxy)} took over ${opts.timeoutMs} ms`,
        ),
      );
    }, opts.timeoutMs);
  });
  // Whatever the attempt opens after a timeout is destroyed at once.
  const attempt = open(opts, (s) => (failed ? s.destroy() : opened.push(s)));
  try {
    return await Promise.race([attempt, deadline]);
  } catch (err) {
    failed = true;
    for (const s of opened) s.destroy();
    attempt.then((s) => s.destroy()).catch(() => undefined);
    throw err instanceof HboneError
      ? err
      : new HboneError('ERR_HBONE_SESSION', asError(err).message, { cause: err });
  } finally {
    clearTimeout(timer);
  }
}
