// Probes a component's `/healthz` on its secure port, checking its serving cert against the cluster CA.
import { request } from 'node:https';
import type { ManagedProcess } from './process.ts';
import { launchReady } from './readiness.ts';

/** `https://127.0.0.1:<port>/healthz`: where the controller-manager and scheduler answer on loopback. */
export function loopbackHealthzUrl(securePort: number): string {
  return `https://127.0.0.1:${securePort}/healthz`;
}

/**
 * True when `url` answers 200. No client cert is sent: both components allow `/healthz` to anyone
 * (`--authorization-always-allow-paths`), so this also checks that delegated authn lets anonymous probes through.
 */
export function healthzOk(url: string, caPem: string, timeoutMs = 2_000): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const req = request(url, { ca: caPem, agent: false, timeout: timeoutMs }, (res) => {
      res.resume();
      res.once('end', () => resolve(res.statusCode === 200));
      res.once('error', reject);
    });
    req.once('timeout', () => req.destroy(new Error(`GET ${url} timed out`)));
    req.once('error', reject);
    req.end();
  });
}

/**
 * The flags every secure control-plane component shares: its client kubeconfig (also for delegated authn/authz),
 * a `/healthz` port on 127.0.0.1 and the serving certificate, and one replica without leader election (no lease to
 * win first, and an apiserver restart cannot cost a lease and end the process).
 */
export function secureComponentArgs(o: {
  readonly kubeconfig: string;
  readonly securePort: number;
  readonly servingCert: string;
  readonly servingKey: string;
}): string[] {
  return [
    `--kubeconfig=${o.kubeconfig}`,
    `--authentication-kubeconfig=${o.kubeconfig}`,
    `--authorization-kubeconfig=${o.kubeconfig}`,
    '--bind-address=127.0.0.1',
    `--secure-port=${o.securePort}`,
    `--tls-cert-file=${o.servingCert}`,
    `--tls-private-key-file=${o.servingKey}`,
    '--leader-elect=false',
    '--profiling=false',
  ];
}

/** Starts a secure component and resolves once its loopback `/healthz` is 200; on failure it is already stopped. */
export function launchUntilHealthy(p: {
  readonly name: string;
  readonly bin: string;
  readonly args: string[];
  readonly logPath: string;
  readonly securePort: number;
  readonly caPem: string;
  readonly timeoutMs: number;
}): Promise<ManagedProcess> {
  const url = loopbackHealthzUrl(p.securePort);
  return launchReady(
    { name: p.name, bin: p.bin, args: p.args, logPath: p.logPath },
    { probe: () => healthzOk(url, p.caPem), timeoutMs: p.timeoutMs, intervalMs: 250 },
  );
}
