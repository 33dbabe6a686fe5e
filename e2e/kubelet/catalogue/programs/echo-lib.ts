// Pure parts of the echo programs: which ports to listen on, and the JSON an HTTP echo answers with.

/** The env names the echo programs read (set them with the downward API). */
export const ECHO_ENV = {
  port: 'PORT',
  podName: 'POD_NAME',
  podNamespace: 'POD_NAMESPACE',
  nodeName: 'NODE_NAME',
  serviceAccount: 'SERVICE_ACCOUNT',
  version: 'VERSION',
} as const;

export interface EchoArgs {
  /** Every port to listen on, in order, without duplicates. */
  readonly ports: readonly number[];
  /** echo-tcp: written before each echoed chunk. @default '' */
  readonly prefix: string;
}

function port(text: string, where: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < 1 || n > 65535)
    throw new Error(`${where}: ${JSON.stringify(text)} is no port`);
  return n;
}

/**
 * Ports from `--port N`/`--port=N` (repeatable, or comma-separated), else `PORT` (comma-separated), else the
 * fallback. `--prefix S`/`--prefix=S` sets the TCP echo's prefix. Unknown arguments throw, so a typo in a pod
 * spec fails the container visibly.
 */
export function parseEchoArgs(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  fallbackPort: number,
): EchoArgs {
  const ports: number[] = [];
  let prefix = '';
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    const [flag, inline] = arg.startsWith('--') && arg.includes('=') ? arg.split(/=(.*)/s) : [arg, undefined];
    const value = (): string => {
      if (inline !== undefined) return inline;
      const next = argv[++i];
      if (next === undefined) throw new Error(`${flag ?? arg} needs a value`);
      return next;
    };
    if (flag === '--port')
      ports.push(
        ...value()
          .split(',')
          .map((p) => port(p, '--port')),
      );
    else if (flag === '--prefix') prefix = value();
    else throw new Error(`unknown argument ${JSON.stringify(arg)}`);
  }
  const fromEnv = env[ECHO_ENV.port];
  if (ports.length === 0 && fromEnv !== undefined && fromEnv !== '') {
    ports.push(...fromEnv.split(',').map((p) => port(p.trim(), ECHO_ENV.port)));
  }
  if (ports.length === 0) ports.push(fallbackPort);
  return { ports: [...new Set(ports)], prefix };
}

/** What the HTTP echo saw of one request. */
export interface HttpRequestFacts {
  readonly method: string;
  /** The request target: path and query. */
  readonly url: string;
  readonly httpVersion: string;
  /** Raw header pairs in arrival order (Node's `rawHeaders`), so repeated headers survive. */
  readonly rawHeaders: readonly string[];
  readonly source: { readonly address: string; readonly port: number };
  readonly destination: { readonly address: string; readonly port: number };
  readonly bodyBytes: number;
}

/** The JSON body of an echo answer. */
export interface EchoBody {
  readonly pod: string;
  readonly namespace: string;
  readonly node: string;
  readonly serviceAccount: string;
  readonly version: string;
  readonly hostname: string;
  readonly method: string;
  readonly path: string;
  readonly query: string;
  readonly protocol: string;
  /** Lower-cased names; a repeated header's values joined with `, `. */
  readonly headers: Readonly<Record<string, string>>;
  readonly source: { readonly address: string; readonly port: number };
  readonly destination: { readonly address: string; readonly port: number };
  readonly bodyBytes: number;
}

/** IPv4-mapped IPv6 (`::ffff:10.0.0.1`) as the plain IPv4 address it is. */
export function plainAddress(address: string): string {
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}

export function describeRequest(
  r: HttpRequestFacts,
  env: Readonly<Record<string, string | undefined>>,
  hostname: string,
): EchoBody {
  const headers: Record<string, string> = {};
  for (let i = 0; i + 1 < r.rawHeaders.length; i += 2) {
    const name = (r.rawHeaders[i] ?? '').toLowerCase();
    const value = r.rawHeaders[i + 1] ?? '';
    headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
  }
  const q = r.url.indexOf('?');
  return {
    pod: env[ECHO_ENV.podName] ?? '',
    namespace: env[ECHO_ENV.podNamespace] ?? '',
    node: env[ECHO_ENV.nodeName] ?? '',
    serviceAccount: env[ECHO_ENV.serviceAccount] ?? '',
    version: env[ECHO_ENV.version] ?? '',
    hostname,
    method: r.method,
    path: q === -1 ? r.url : r.url.slice(0, q),
    query: q === -1 ? '' : r.url.slice(q + 1),
    protocol: `HTTP/${r.httpVersion}`,
    headers,
    source: { address: plainAddress(r.source.address), port: r.source.port },
    destination: { address: plainAddress(r.destination.address), port: r.destination.port },
    bodyBytes: r.bodyBytes,
  };
}
