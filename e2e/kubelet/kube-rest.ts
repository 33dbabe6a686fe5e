// A small JSON client for the apiserver from any kubeconfig (certs, tokens, exec plugins via client-node).
import { request as httpRequest, type RequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { KubeConfig } from '@kubernetes/client-node';
import { KubeApiError, KubeletError } from './errors.ts';

export interface KubeRequest {
  /** JSON-serialised as the body. */
  readonly body?: unknown;
  /** @default 'application/json' when there is a body */
  readonly contentType?: string;
  readonly query?: Readonly<Record<string, string>>;
  /** @default 30_000 */
  readonly timeoutMs?: number;
}

/** The Status body's message and reason, or the start of whatever came back. */
function statusOf(body: string): { message: string; reason: string | undefined } {
  try {
    const s = JSON.parse(body) as { message?: unknown; reason?: unknown };
    return {
      message: typeof s.message === 'string' ? s.message : body.slice(0, 300),
      reason: typeof s.reason === 'string' ? s.reason : undefined,
    };
  } catch {
    return { message: body.slice(0, 300), reason: undefined };
  }
}

/**
 * Requests are made with a fresh `applyToHTTPSOptions` each time, so rotating credentials (exec plugins, token
 * files) keep working; that costs a TLS handshake per request, which the box's request rate affords.
 */
export class KubeRest {
  readonly kubeConfig: KubeConfig;
  readonly server: string;

  constructor(kubeConfig: KubeConfig) {
    const cluster = kubeConfig.getCurrentCluster();
    if (cluster === null) throw new KubeletError('ERR_KUBE_CONFIG', 'the kubeconfig has no current cluster');
    this.kubeConfig = kubeConfig;
    this.server = cluster.server.replace(/\/+$/, '');
  }

  static fromFile(path: string): KubeRest {
    const kc = new KubeConfig();
    try {
      kc.loadFromFile(path);
    } catch (err) {
      throw new KubeletError('ERR_KUBE_CONFIG', `cannot load kubeconfig ${path}`, { cause: err });
    }
    return new KubeRest(kc);
  }

  /** Sends the request; a 2xx answer resolves with its parsed JSON (undefined when empty), anything else throws. */
  async request<T>(method: string, path: string, r: KubeRequest = {}): Promise<T> {
    const url = new URL(this.server + path);
    for (const [k, v] of Object.entries(r.query ?? {})) url.searchParams.set(k, v);
    const opts: RequestOptions & { headers: Record<string, string> } = {
      method,
      headers: { accept: 'application/json' },
    };
    await this.kubeConfig.applyToHTTPSOptions(opts);
    const body = r.body === undefined ? undefined : JSON.stringify(r.body);
    if (body !== undefined) {
      opts.headers['content-type'] = r.contentType ?? 'application/json';
      // Explicit: Node sends a DELETE body unframed (no chunking by default for DELETE), and the server drops it.
      opts.headers['content-length'] = String(Buffer.byteLength(body));
    }
    const send = url.protocol === 'http:' ? httpRequest : httpsRequest;
    const what = `${method} ${url.pathname}`;
    const res = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = send(url, opts, (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (c: Buffer) => chunks.push(c));
        response.on('error', reject);
        response.on('end', () =>
          resolve({ status: response.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }),
        );
      });
      req.setTimeout(r.timeoutMs ?? 30_000, () => req.destroy(new Error(`${what} timed out`)));
      req.on('error', (err) =>
        reject(new KubeApiError(0, undefined, `${what}: ${err.message}`, { cause: err })),
      );
      req.end(body);
    });
    if (res.status >= 200 && res.status < 300) {
      return (res.text === '' ? undefined : JSON.parse(res.text)) as T;
    }
    const s = statusOf(res.text);
    throw new KubeApiError(res.status, s.reason, `${what}: http ${res.status}: ${s.message}`);
  }
}
