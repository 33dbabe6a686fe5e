// Reads kube-proxy's `/healthz`: ready means its rules are synced at least once and it has seen its Node.
import { request } from 'node:http';

/** What `/healthz` answers (kube-proxy `healthcheck.ProxyHealth`), the fields the box reads. */
export interface ProxyHealth {
  readonly healthy?: boolean;
  /** False until the Node named by `--hostname-override` is in kube-proxy's informer (then 503). */
  readonly nodeEligible?: boolean;
  /** Per IP family; a family appears once its proxier has synced its rules. */
  readonly status?: Readonly<Record<string, { readonly lastUpdated?: string; readonly healthy?: boolean }>>;
}

export type KubeProxyState = 'ready' | 'no-node' | 'not-synced' | 'unhealthy';

/**
 * Interprets one `/healthz` answer. A 200 alone is not enough: kube-proxy is "healthy" before its first sync;
 * its IPv4 proxier's entry in `status` appears only after it has written the rules.
 */
export function kubeProxyState(statusCode: number, body: string): KubeProxyState {
  let health: ProxyHealth;
  try {
    health = JSON.parse(body) as ProxyHealth;
  } catch {
    return 'unhealthy';
  }
  if (health.nodeEligible === false) return 'no-node';
  if (health.status?.IPv4 === undefined) return 'not-synced';
  return statusCode === 200 && health.healthy === true ? 'ready' : 'unhealthy';
}

/** GETs `http://<ip>:<port>/healthz` and interprets it; a connection error rejects. */
export function probeKubeProxy(ip: string, port: number, timeoutMs = 2_000): Promise<KubeProxyState> {
  return new Promise((resolve, reject) => {
    const req = request({ host: ip, port, path: '/healthz', agent: false, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.once('error', reject);
      res.once('end', () => resolve(kubeProxyState(res.statusCode ?? 0, body)));
    });
    req.once('timeout', () => req.destroy(new Error(`GET http://${ip}:${port}/healthz timed out`)));
    req.once('error', reject);
    req.end();
  });
}
