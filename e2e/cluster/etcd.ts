// Builds etcd's command line and starts a single-member, loopback-only etcd for one test cluster.
import type { ManagedProcess } from './process.ts';
import { launchReady } from './readiness.ts';

export interface EtcdOptions {
  /** @default 'default' */
  readonly name?: string;
  readonly dataDir: string;
  readonly clientPort: number;
  readonly peerPort: number;
}

export function etcdClientUrl(clientPort: number): string {
  return `http://127.0.0.1:${clientPort}`;
}

/** Flags for a throwaway member: no fsync (tests never survive a power cut), warnings only in the log. */
export function etcdArgs(o: EtcdOptions): string[] {
  const name = o.name ?? 'default';
  const client = etcdClientUrl(o.clientPort);
  const peer = `http://127.0.0.1:${o.peerPort}`;
  return [
    `--name=${name}`,
    `--data-dir=${o.dataDir}`,
    `--listen-client-urls=${client}`,
    `--advertise-client-urls=${client}`,
    `--listen-peer-urls=${peer}`,
    `--initial-advertise-peer-urls=${peer}`,
    `--initial-cluster=${name}=${peer}`,
    '--initial-cluster-state=new',
    '--unsafe-no-fsync',
    '--log-level=warn',
  ];
}

async function healthy(clientPort: number): Promise<boolean> {
  const res = await fetch(`${etcdClientUrl(clientPort)}/health`, { signal: AbortSignal.timeout(2_000) });
  if (!res.ok) return false;
  const body = (await res.json()) as { health?: unknown };
  return body.health === 'true';
}

/** Starts etcd and resolves once `/health` reports healthy; on failure the process is already stopped. */
export async function startEtcd(
  bin: string,
  opts: EtcdOptions,
  logPath: string,
  timeoutMs = 30_000,
): Promise<ManagedProcess> {
  return launchReady(
    { name: 'etcd', bin, args: etcdArgs(opts), logPath },
    { probe: () => healthy(opts.clientPort), timeoutMs },
  );
}
