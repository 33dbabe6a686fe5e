// CLI behind `make cluster-up`: starts the full control plane (etcd, kube-apiserver, kube-controller-manager,
// kube-scheduler) with the repo's CRDs in a fixed work dir and keeps it up until Ctrl-C.
import { join } from 'node:path';
import { startCluster, type Cluster } from './cluster.ts';
import { findCrdFiles } from './crd-files.ts';
import { parseHarnessEnv } from './env.ts';
import { ClusterError } from './errors.ts';

const log = (line: string): void => console.log(`cluster-up: ${line}`);

async function main(): Promise<void> {
  const workDir = join(parseHarnessEnv(process.env).cacheDir, 'cluster-up');
  const state: { cluster?: Cluster } = {};
  let stopping = false;
  const shutdown = (): void => {
    if (stopping) process.exit(130); // a second Ctrl-C: the exit hook still kills the children
    stopping = true;
    log('stopping');
    void (state.cluster?.stop() ?? Promise.resolve()).then(
      () => process.exit(0),
      (err: unknown) => {
        console.error(`cluster-up: stop failed: ${(err as Error).message}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);

  log(`starting in ${workDir}`);
  const cluster = await startCluster({ workDir, name: 'ambit', controlPlane: 'full', onProgress: log });
  state.cluster = cluster;
  const t = Date.now();
  const crds = await findCrdFiles();
  await cluster.applyManifests(crds);
  log(`applied ${crds.length} CRD file(s) from crds/ (${((Date.now() - t) / 1000).toFixed(1)} s)`);
  console.log(`\nexport KUBECONFIG=${cluster.kubeconfigPath}\n`);
  log('try: kubectl get crd   (Ctrl-C stops the cluster and removes its work dir)');
  setInterval(() => {}, 1 << 30); // stay up; the signal handlers end the process
}

main().catch((err: unknown) => {
  const prerequisite = err instanceof ClusterError && err.code === 'ERR_CLUSTER_PREREQUISITE';
  console.error(`cluster-up: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(prerequisite ? 2 : 1);
});
