// CLI (`sudo NODES=3 node e2e/box/up.ts`): starts a cluster-in-a-box (NODES nodes with kubelets, default 2, and
// CoreDNS), installs Ambit into it as a user would (kubectl, manifests/, the example Mesh; AMBIT=0 skips it),
// prints its nodes, pods, cluster DNS, the Mesh and what to run next, and keeps it up until Ctrl-C, then tears
// everything down and exits 0. Exits 2 when the host lacks a prerequisite, 1 on any other failure.
import { AppsV1Api, CoreV1Api } from '@kubernetes/client-node';
import { ClusterError } from '../cluster/index.ts';
import { NetworkError } from '../network/index.ts';
import { startBox, type Box } from './box.ts';
import { CLUSTER_DNS_DEPLOYMENT, CLUSTER_DNS_NAMESPACE } from './cluster-dns.ts';
import { describeDeployment, type DeploymentJson } from './deployment-ready.ts';
import { BoxError } from './errors.ts';
import { kubectl } from './kubectl.ts';
import { LB_POOL_FIRST, LB_POOL_LAST } from './lb-pool.ts';
import { nextSteps } from './next-steps.ts';
import { DEFAULT_BOX_NAME } from './plan.ts';
import { checkPrerequisites } from './prerequisites.ts';
import { boxNodes, nodesWide } from './report.ts';
import { podsWide } from './report-pods.ts';
import { seconds } from './stages.ts';
import { parseUpOptions } from './up-options.ts';

const log = (line: string): void => console.log(`box-up: ${line}`);

function isPrerequisite(err: unknown): boolean {
  return (
    (err instanceof BoxError &&
      (err.code === 'ERR_BOX_PREREQUISITE' || err.code === 'ERR_BOX_INVALID_OPTION')) ||
    (err instanceof ClusterError && err.code === 'ERR_CLUSTER_PREREQUISITE') ||
    (err instanceof NetworkError && err.code === 'ERR_NETWORK_PREREQUISITE')
  );
}

async function report(box: Box): Promise<void> {
  const kc = box.cluster.kubeConfig();
  const core = kc.makeApiClient(CoreV1Api);
  const [nodes, pods, dns] = await Promise.all([
    core.listNode(),
    core.listPodForAllNamespaces(),
    kc
      .makeApiClient(AppsV1Api)
      .readNamespacedDeployment({ namespace: CLUSTER_DNS_NAMESPACE, name: CLUSTER_DNS_DEPLOYMENT })
      .catch(() => undefined),
  ]);
  const now = Date.now();
  for (const line of boxNodes(box.nodes, box.pids().kubeProxy)) console.log(line);
  console.log('');
  for (const line of nodesWide(nodes.items, now)) console.log(line);
  console.log('');
  for (const line of podsWide(pods.items, now)) console.log(line);
  const timing = box.clusterDns;
  console.log(
    `\ncluster DNS 10.96.0.10 (CoreDNS, cluster.local only, no upstream): ` +
      `${describeDeployment(dns as DeploymentJson | undefined, CLUSTER_DNS_DEPLOYMENT)}` +
      (timing === undefined
        ? ''
        : `; Available ${seconds(timing.createToAvailableMs)} after apply, ` +
          `in kube-proxy's rules ${seconds(timing.availableToProgrammedMs)} later`),
  );
  console.log(`start by stage: ${box.timings.map((t) => `${t.stage} ${seconds(t.ms)}`).join(', ')}`);
  if (box.ambit !== undefined) {
    const mesh = await kubectl(box.kubeconfigPath, ['get', 'mesh']);
    console.log(`\n$ kubectl get mesh\n${(mesh.stdout || mesh.stderr).trimEnd()}`);
    console.log(
      `Ambit: operator Available ${seconds(box.ambit.applyMs + box.ambit.operatorAvailableMs)} after ` +
        `kubectl apply, Mesh Ready ${seconds(box.ambit.meshReadyMs)} after its apply; every Ambit component ` +
        `is a pod the kubelets run from this checkout (images ghcr.io/ambit-mesh/*)`,
    );
  }
  console.log(
    `\nLoadBalancer Services get an address in ${LB_POOL_FIRST}-${LB_POOL_LAST}, reachable from this host.`,
  );
  console.log('');
  for (const line of nextSteps(box.kubeconfigPath, box.ambit !== undefined)) console.log(line);
  log(
    `logs in ${box.workDir}/logs (kube-proxy, kubelet per node; pod logs under nodes/<node>/kubelet/logs) and ` +
      `${box.workDir}/cluster/logs; Ctrl-C stops the box and removes it`,
  );
}

async function main(): Promise<void> {
  const { nodes, ambit } = parseUpOptions(process.env);
  await checkPrerequisites();
  const state: { box?: Box; starting?: Promise<Box>; stopping: boolean } = { stopping: false };
  const stop = async (): Promise<void> => {
    const box = state.box ?? (await state.starting?.catch(() => undefined));
    await box?.stop();
  };
  const shutdown = (): void => {
    if (state.stopping) process.exit(130); // a second Ctrl-C: the exit hooks still kill the processes
    state.stopping = true;
    log('stopping (again to exit at once; the next start reaps what is left)');
    stop().then(
      () => process.exit(0),
      (err: unknown) => {
        console.error(`box-up: stop failed: ${(err as Error).message}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);

  log(
    `starting box ${DEFAULT_BOX_NAME} with ${nodes} node(s)${ambit ? ' and Ambit (AMBIT=0: without)' : ''}`,
  );
  state.starting = startBox({ name: DEFAULT_BOX_NAME, nodes, ambit, onProgress: log });
  state.box = await state.starting;
  if (state.stopping) return; // Ctrl-C came during the start: shutdown() is stopping it
  await report(state.box);
  setInterval(() => {}, 1 << 30); // stay up; the signal handlers end the process
}

main().catch((err: unknown) => {
  console.error(`box-up: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(isPrerequisite(err) ? 2 : 1);
});
