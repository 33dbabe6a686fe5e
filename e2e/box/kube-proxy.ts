// Starts a node's real kube-proxy inside the node's netns and waits until it has synced its rules.
import type { ManagedProcess } from '../cluster/process.ts';
import { launchReady } from '../cluster/readiness.ts';
import { writePidFile } from '../cluster/stale.ts';
import { BoxError } from './errors.ts';
import { kubeProxyArgv } from './kube-proxy-args.ts';
import { probeKubeProxy } from './kube-proxy-health.ts';
import { KUBE_PROXY_HEALTHZ_PORT, type BoxNodeLayout } from './plan.ts';

export interface StartKubeProxyOptions {
  readonly bin: string;
  readonly netns: string;
  readonly node: BoxNodeLayout;
  /** Where the pid file goes (the box work dir), for reaping after a crash. */
  readonly pidDir: string;
  /** @default 60_000 */
  readonly timeoutMs?: number;
}

/**
 * Launches kube-proxy in its own process group (so stop() reaches it whole) and resolves once `/healthz` on the
 * node IP says it has synced and seen its Node. On failure it is already stopped and the error (`ERR_BOX_KUBE_PROXY`)
 * carries the tail of its log.
 */
export async function startKubeProxy(o: StartKubeProxyOptions): Promise<ManagedProcess> {
  const [bin = 'ip', ...args] = kubeProxyArgv(o.bin, o.netns, {
    kubeconfig: o.node.kubeProxyKubeconfig,
    nodeName: o.node.name,
    nodeIp: o.node.ip,
  });
  try {
    const proc = await launchReady(
      { name: `kube-proxy ${o.node.name}`, bin, args, logPath: o.node.kubeProxyLog },
      {
        probe: async () => (await probeKubeProxy(o.node.ip, KUBE_PROXY_HEALTHZ_PORT)) === 'ready',
        timeoutMs: o.timeoutMs ?? 60_000,
        intervalMs: 200,
      },
    );
    await writePidFile(o.pidDir, o.node.kubeProxyPidName, proc.pid);
    return proc;
  } catch (err) {
    throw new BoxError('ERR_BOX_KUBE_PROXY', (err as Error).message, { cause: err });
  }
}
