// Builds kube-scheduler's command line (kubeadm's flags) and starts it.
import { launchUntilHealthy, secureComponentArgs } from './healthz.ts';
import type { PkiPaths } from './pki-files.ts';
import type { ManagedProcess } from './process.ts';

export interface SchedulerOptions {
  /** Kubeconfig with the `system:kube-scheduler` client cert; also used for delegated authn/authz. */
  readonly kubeconfig: string;
  /** Secure port (`/healthz`), bound to 127.0.0.1. */
  readonly securePort: number;
  readonly pki: PkiPaths;
}

export function schedulerArgs(o: SchedulerOptions): string[] {
  return secureComponentArgs({
    kubeconfig: o.kubeconfig,
    securePort: o.securePort,
    servingCert: o.pki.schedulerServingCert,
    servingKey: o.pki.schedulerServingKey,
  });
}

/** Starts the scheduler and resolves once its `/healthz` is 200; on failure it is already stopped. */
export function startScheduler(
  bin: string,
  opts: SchedulerOptions,
  logPath: string,
  caPem: string,
  timeoutMs = 60_000,
): Promise<ManagedProcess> {
  return launchUntilHealthy({
    name: 'kube-scheduler',
    bin,
    args: schedulerArgs(opts),
    logPath,
    securePort: opts.securePort,
    caPem,
    timeoutMs,
  });
}
