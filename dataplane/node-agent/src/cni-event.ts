// The small API between the CNI plugin (a short-lived process per pod) and the node agent: HTTP/1.1 with JSON over
// a unix socket (e.g. /var/run/ambit/cni.sock), so the plugin needs no Kubernetes client and no credentials: the
// agent, which has the caches, decides enrollment.
//   POST /v1/pod-added   {uid, namespace, name, netns, ips} → 200 {captured: boolean} | 4xx/5xx {error}
//   POST /v1/pod-deleted {uid, namespace, name}             → 200 {}
import { request } from 'node:http';

export const POD_ADDED = '/v1/pod-added';
export const POD_DELETED = '/v1/pod-deleted';

export interface PodAddedEvent {
  readonly uid: string;
  readonly namespace: string;
  readonly name: string;
  /** CNI_NETNS. */
  readonly netns: string;
  /** The pod's addresses from the CNI result (the API object has none yet). */
  readonly ips: readonly string[];
}

export interface PodDeletedEvent {
  readonly uid: string;
  readonly namespace: string;
  readonly name: string;
}

export class CniEventError extends Error {
  readonly code: 'ERR_CNI_EVENT_INVALID' | 'ERR_CNI_EVENT_UNAVAILABLE' | 'ERR_CNI_EVENT_FAILED';
  constructor(code: CniEventError['code'], message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'CniEventError';
    this.code = code;
  }
}

function field(o: Record<string, unknown>, k: string): string {
  const v = o[k];
  if (typeof v !== 'string' || v === '')
    throw new CniEventError('ERR_CNI_EVENT_INVALID', `${k} must be a non-empty string`);
  return v;
}

function object(v: unknown): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    throw new CniEventError('ERR_CNI_EVENT_INVALID', 'body must be a JSON object');
  }
  return v as Record<string, unknown>;
}

export function parsePodAdded(v: unknown): PodAddedEvent {
  const o = object(v);
  const ips = o.ips;
  if (!Array.isArray(ips) || !ips.every((ip) => typeof ip === 'string')) {
    throw new CniEventError('ERR_CNI_EVENT_INVALID', 'ips must be a list of strings');
  }
  return {
    uid: field(o, 'uid'),
    namespace: field(o, 'namespace'),
    name: field(o, 'name'),
    netns: field(o, 'netns'),
    ips: ips,
  };
}

export function parsePodDeleted(v: unknown): PodDeletedEvent {
  const o = object(v);
  return { uid: field(o, 'uid'), namespace: field(o, 'namespace'), name: field(o, 'name') };
}

/** Posts an event to the agent; resolves with the JSON answer. */
export function postCniEvent(
  socketPath: string,
  path: string,
  body: unknown,
  timeoutMs: number,
): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const payload = JSON.stringify(body);
    const req = request(
      {
        socketPath,
        path,
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
        timeout: timeoutMs,
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => {
          let parsed: unknown;
          try {
            parsed = JSON.parse(text);
          } catch {
            parsed = { error: text };
          }
          if (res.statusCode === 200) {
            resolve(parsed);
            return;
          }
          const msg = (parsed as { error?: unknown }).error;
          reject(
            new CniEventError(
              'ERR_CNI_EVENT_FAILED',
              `node agent answered ${res.statusCode}: ${typeof msg === 'string' ? msg : text}`,
            ),
          );
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', (err) =>
      reject(
        new CniEventError(
          'ERR_CNI_EVENT_UNAVAILABLE',
          `node agent at ${socketPath} unreachable: ${err.message}`,
          {
            cause: err,
          },
        ),
      ),
    );
    req.end(payload);
  });
}
