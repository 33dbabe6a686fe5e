// A minimal HTTPS client for the apiserver using the admin client certificate (readiness, discovery, apply).
import { Agent, request } from 'node:https';
import { ClusterError } from './errors.ts';

export interface ApiCredentials {
  /** https URL of the apiserver, without a trailing slash. */
  readonly server: string;
  readonly caPem: string;
  readonly certPem: string;
  readonly keyPem: string;
}

export interface ApiResponse {
  readonly status: number;
  readonly body: string;
}

export interface RequestOptions {
  readonly body?: string;
  readonly contentType?: string;
  /** @default 30_000 */
  readonly timeoutMs?: number;
}

export class ApiClient {
  readonly server: string;
  readonly #agent: Agent;

  constructor(creds: ApiCredentials) {
    this.server = creds.server;
    this.#agent = new Agent({ ca: creds.caPem, cert: creds.certPem, key: creds.keyPem, keepAlive: true });
  }

  request(method: string, path: string, opts: RequestOptions = {}): Promise<ApiResponse> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (opts.contentType !== undefined) headers['content-type'] = opts.contentType;
    return new Promise((resolve, reject) => {
      const req = request(new URL(path, this.server), { method, headers, agent: this.#agent }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
        );
      });
      req.setTimeout(opts.timeoutMs ?? 30_000, () => req.destroy(new Error(`${method} ${path} timed out`)));
      req.on('error', reject);
      req.end(opts.body);
    });
  }

  /** GET that parses JSON and throws ERR_CLUSTER_API on any status but 200. */
  async getJson<T>(path: string): Promise<T> {
    const res = await this.request('GET', path);
    if (res.status !== 200) throw apiError(`get ${path}`, res);
    return JSON.parse(res.body) as T;
  }

  /** Drops pooled connections (after the server restarted, or when done). */
  close(): void {
    this.#agent.destroy();
  }
}

/** The `message` of a Kubernetes Status body, or the raw body. */
export function statusMessage(res: ApiResponse): string {
  try {
    const status = JSON.parse(res.body) as { message?: unknown };
    if (typeof status.message === 'string') return status.message;
  } catch {
    // not JSON: fall through to the raw text
  }
  return res.body.slice(0, 500);
}

export function apiError(what: string, res: ApiResponse): ClusterError {
  return new ClusterError('ERR_CLUSTER_API', `${what}: http ${res.status}: ${statusMessage(res)}`);
}
