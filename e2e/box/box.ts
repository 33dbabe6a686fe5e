// Starts and stops a cluster-in-a-box: the box network, the real control plane on its underlay, per node the fake
// kubelet (or another hook, or a bare Node) and a real kube-proxy in the node's netns, the box's LoadBalancer
// allocator, and the real CoreDNS as the cluster DNS.
import { mkdir, readFile, rm } from 'node:fs/promises';
import {
  AMBIT_KEEP_CLUSTER,
  findCrdFiles,
  startCluster,
  type Cluster,
  type ClusterPids,
} from '../cluster/index.ts';
import { parseHarnessEnv } from '../cluster/env.ts';
import { track } from '../cluster/lifecycle.ts';
import type { ManagedProcess } from '../cluster/process.ts';
import { ApiClient } from '../cluster/rest.ts';
import {
  coredns,
  defaultCatalogue,
  type CatalogueEntry,
  type ImageCatalogue,
  type Kubelet,
} from '../kubelet/index.ts';
import { createNetwork, HOST_UNDERLAY_IP, nodeOf, planNetwork, type BoxNetwork } from '../network/index.ts';
import { installAmbit, type AmbitInstallTiming } from './ambit-install.ts';
import { installClusterDns, type ClusterDnsTiming } from './cluster-dns.ts';
import { resolveComponent } from './component-binary.ts';
import { BoxError } from './errors.ts';
import { startLbAllocator } from './lb-allocator.ts';
import { pool as lbPool } from './lb-pool.ts';
import { installLbRoutes } from './lb-routes.ts';
import { readClusterCa, writeNodeCredentials } from './node-credentials.ts';
import { podNetnsPrefix, startKubeletNode } from './node-kubelet.ts';
import { startOneNode, type NodeContext, type StartNode } from './node-start.ts';
import { waitForNode } from './node-wait.ts';
import {
  DEFAULT_BOX_NAME,
  DEFAULT_NODE_COUNT,
  defaultWorkDir,
  nodeRootDir,
  planBox,
  planNodeAgent,
  type BoxPlan,
} from './plan.ts';
import { checkPrerequisites } from './prerequisites.ts';
import { killNetnsProcesses, reapBox, removeEtcNetns } from './reap.ts';
import { seconds, StageClock, type StageTiming } from './stages.ts';
import { podNetnsName } from '../kubelet/sandbox-plan.ts';
import { TeardownStack } from './teardown-stack.ts';

export type { NodeContext, NodeHandle, StartNode } from './node-start.ts';
export type { ClusterDnsTiming } from './cluster-dns.ts';
export type { AmbitInstallTiming } from './ambit-install.ts';

export interface StartBoxOptions {
  /** Prefixes every name the box puts on the host; see e2e/network `BOX_NAME`. @default 'abox' */
  readonly name?: string;
  /** @default 2 */
  readonly nodes?: number;
  /**
   * Holds the control plane's data, every kubeconfig and log. Wiped first, after ending processes a crashed box
   * of this name left (pid files); removed by stop() unless AMBIT_KEEP_CLUSTER=1; kept when the start fails.
   * @default <AMBIT_CACHE>/box/<name>
   */
  readonly workDir?: string;
  /** One line per finished stage, with its duration. */
  readonly onProgress?: (line: string) => void;
  /**
   * Per node, instead of the box's kubelet (`kubeletOptions(ctx)` in node-kubelet.ts gives what the box would pass
   * `startKubelet`). Not together with `kubelets: false`.
   */
  readonly startNode?: StartNode;
  /**
   * Whether each node runs the fake kubelet (pods from the API, with `defaultCatalogue()`, CoreDNS and `catalogue`).
   * false: the box registers a Ready Node itself and renews its Lease; nothing runs pods. @default true
   */
  readonly kubelets?: boolean;
  /** Images the kubelets know besides the default catalogue and CoreDNS (later entries win). @default [] */
  readonly catalogue?: readonly CatalogueEntry[];
  /**
   * Whether the box installs CoreDNS (kube-dns 10.96.0.10) and waits until it is Available. Needs nodes that run
   * pods. @default true with the box's kubelets, false with `kubelets: false` or a `startNode` hook
   */
  readonly clusterDns?: boolean;
  /**
   * Install Ambit as a user would, once the box is up: `kubectl apply --server-side -k manifests/`, wait for the
   * operator, `kubectl apply -f manifests/examples/mesh.yaml`, wait until the Mesh is Ready with a ready ztunnel on
   * every node (e2e/box/ambit-install.ts). Its pods run from the image catalogue like any other. Needs the box's
   * kubelets and cluster DNS. @default false
   */
  readonly ambit?: boolean;
  /** @default process.env */
  readonly env?: NodeJS.ProcessEnv;
  /** Per waited-for thing (a component, a Node, a pod CIDR, CoreDNS Available). @default 60_000 */
  readonly readyTimeoutMs?: number;
}

export interface BoxNode {
  readonly name: string;
  readonly netns: string;
  readonly ip: string;
  readonly podCidr: string;
  /** The node's stand-in for `/` with the box's kubelets: its hostPath volumes, /etc/cni/net.d, /opt/cni/bin. */
  readonly root: string;
}

export interface BoxPids {
  readonly cluster: ClusterPids;
  /** Node name → kube-proxy's process id. */
  readonly kubeProxy: Readonly<Record<string, number>>;
}

/** What the box's kubelets run: the default catalogue, CoreDNS (when its binary is given) and the extra entries. */
export function boxCatalogue(
  corednsBin: string | undefined,
  extra: readonly CatalogueEntry[] = [],
): ImageCatalogue {
  const base = defaultCatalogue();
  return base.with(...(corednsBin === undefined ? [] : [coredns(corednsBin)]), ...extra);
}

export interface Box {
  readonly name: string;
  readonly workDir: string;
  readonly cluster: Cluster;
  readonly network: BoxNetwork;
  readonly nodes: readonly BoxNode[];
  /** The admin kubeconfig (the cluster's). */
  readonly kubeconfigPath: string;
  /** Node name → its kubelet, when the box started them (not with `kubelets: false` or a `startNode` hook). */
  readonly kubelets: ReadonlyMap<string, Kubelet>;
  /** How long CoreDNS took from apply to Available; undefined when the box installed no cluster DNS. */
  readonly clusterDns: ClusterDnsTiming | undefined;
  /** How long Ambit's install took (with `ambit: true`); undefined otherwise. */
  readonly ambit: AmbitInstallTiming | undefined;
  /** The netns of a pod the box's kubelets run (`ip netns exec <it> …`), from the pod's uid. */
  podNetns(uid: string): string;
  /** How long each start stage took, in order. */
  readonly timings: readonly StageTiming[];
  pids(): BoxPids;
  /**
   * Stops everything in reverse order (LB allocator and routes, kube-proxies, nodes, control plane, leftover
   * processes in the box's netns, network) and removes the work dir. Idempotent; rejects with `ERR_BOX_STOP`
   * naming every step that failed, after running all of them.
   */
  stop(): Promise<void>;
}

interface LiveParts {
  readonly plan: BoxPlan;
  readonly cluster: Cluster;
  readonly network: BoxNetwork;
  readonly nodes: readonly BoxNode[];
  readonly kubeProxies: ReadonlyMap<string, ManagedProcess>;
  readonly kubelets: ReadonlyMap<string, Kubelet>;
  readonly clusterDns: ClusterDnsTiming | undefined;
  readonly ambit: AmbitInstallTiming | undefined;
  readonly timings: readonly StageTiming[];
  readonly stack: TeardownStack;
  readonly keepWorkDir: boolean;
  readonly progress: (line: string) => void;
  /** Ends the box's registration with the exit and signal hooks (e2e/cluster/lifecycle.ts). */
  readonly untrack: () => void;
}

class RunningBox implements Box {
  readonly name: string;
  readonly workDir: string;
  readonly cluster: Cluster;
  readonly network: BoxNetwork;
  readonly nodes: readonly BoxNode[];
  readonly kubeconfigPath: string;
  readonly kubelets: ReadonlyMap<string, Kubelet>;
  readonly clusterDns: ClusterDnsTiming | undefined;
  readonly ambit: AmbitInstallTiming | undefined;
  readonly timings: readonly StageTiming[];
  readonly #p: LiveParts;
  readonly #untrack: () => void;
  #stopping: Promise<void> | undefined;

  constructor(p: LiveParts) {
    this.#p = p;
    this.name = p.plan.name;
    this.workDir = p.plan.workDir;
    this.cluster = p.cluster;
    this.network = p.network;
    this.nodes = p.nodes;
    this.kubeconfigPath = p.cluster.kubeconfigPath;
    this.timings = p.timings;
    this.kubelets = p.kubelets;
    this.clusterDns = p.clusterDns;
    this.ambit = p.ambit;
    this.#untrack = p.untrack;
  }

  podNetns(uid: string): string {
    return podNetnsName(podNetnsPrefix(this.name), uid);
  }

  pids(): BoxPids {
    const kubeProxy: Record<string, number> = {};
    for (const [node, proc] of this.#p.kubeProxies) kubeProxy[node] = proc.pid;
    return { cluster: this.cluster.pids(), kubeProxy };
  }

  stop(): Promise<void> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  async #stop(): Promise<void> {
    const t = performance.now();
    const failures = await this.#p.stack.unwind();
    if (!this.#p.keepWorkDir) {
      await rm(this.workDir, { recursive: true, force: true }).catch((err: unknown) =>
        failures.push(new Error(`remove ${this.workDir}: ${(err as Error).message}`, { cause: err })),
      );
    }
    this.#untrack();
    this.#p.progress(`box ${this.name} stopped (${seconds(performance.now() - t)})`);
    if (failures.length > 0) {
      throw new BoxError(
        'ERR_BOX_STOP',
        `box ${this.name} stopped, but: ${failures.map((f) => f.message).join('; ')}`,
        { cause: new AggregateError(failures) },
      );
    }
  }
}

/** The admin's API client, from the PEM files the cluster wrote. */
async function adminClient(cluster: Cluster): Promise<ApiClient> {
  const [caPem, certPem, keyPem] = await Promise.all([
    readFile(cluster.pki.caCert, 'utf8'),
    readFile(cluster.pki.adminCert, 'utf8'),
    readFile(cluster.pki.adminKey, 'utf8'),
  ]);
  return new ApiClient({ server: cluster.server, caPem, certPem, keyPem });
}

/** Throws the first rejection among settled results, if any (all of them have settled, so nothing runs on). */
function throwFirstRejection(results: readonly PromiseSettledResult<unknown>[]): void {
  const rejected = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (rejected === undefined) return;
  const reason: unknown = rejected.reason;
  throw reason instanceof Error ? reason : new Error(String(reason));
}

/**
 * Starts a box, in this order, one progress line per stage:
 * (a) reap what a crashed box of the same name left; (b) find (or build) kube-proxy, CoreDNS and the kubelet
 * server; (c) create the network without pod CIDRs; (d) start the full control plane on the underlay's 172.30.0.1;
 * (e) mint each node's and its kube-proxy's client certificates and the kubelet's serving one; (f) per node, its
 * agent (the kubelet with its API on :10250, a hook, or a bare Node) then its kube-proxy; (g) route each Node's pod
 * CIDR; (h) apply the repo's CRDs; (i) route the LoadBalancer pool and start its allocator; (j) wait until CoreDNS
 * (applied right after (g)) is Available and in every node's rules; (k) with `ambit`, install Ambit with kubectl
 * and wait for the Mesh to be Ready.
 * On failure, everything started is stopped again and the work dir is kept for diagnosis.
 */
export async function startBox(opts: StartBoxOptions = {}): Promise<Box> {
  const env = opts.env ?? process.env;
  const harness = parseHarnessEnv(env);
  const progress = opts.onProgress ?? (() => {});
  const name = opts.name ?? DEFAULT_BOX_NAME;
  const timeoutMs = opts.readyTimeoutMs ?? 60_000;
  const plan = planBox({
    name,
    nodes: opts.nodes ?? DEFAULT_NODE_COUNT,
    workDir: opts.workDir ?? defaultWorkDir(harness.cacheDir, name),
  });
  const agent = planNodeAgent(opts);
  await checkPrerequisites(env);

  const clock = new StageClock(progress);
  const stack = new TeardownStack();
  const kubeProxies = new Map<string, ManagedProcess>();
  const kubelets = new Map<string, Kubelet>();
  const startNode: StartNode | undefined =
    agent.kind === 'hook'
      ? opts.startNode
      : agent.kind === 'kubelet'
        ? async (ctx: NodeContext) => {
            const kubelet = await startKubeletNode(ctx);
            kubelets.set(ctx.node.name, kubelet);
            return kubelet;
          }
        : undefined;
  const live: { box?: Box } = {};
  // On a plain process exit only synchronous work is possible: kill the kube-proxies (the cluster kills its own);
  // the network and anything else is reaped by the next start of this box. On SIGINT/SIGTERM with no other
  // listener, a started box is stopped properly.
  const untrack = track({
    kill: () => {
      for (const kp of kubeProxies.values()) kp.signalGroup('SIGKILL');
    },
    stop: () => live.box?.stop() ?? Promise.resolve(),
  });
  const t = performance.now();
  try {
    await clock.run(
      'reap leftovers',
      () => reapBox(plan),
      (r) =>
        r.killed + r.removed === 0 ? 'none' : `${r.killed} process(es), ${r.removed} network object(s)`,
    );
    const bins = await clock.run(
      'binaries',
      async () => ({
        kubeProxy: await resolveComponent('kube-proxy', env),
        coredns: agent.kind === 'none' ? undefined : await resolveComponent('coredns', env),
        kubeletServer: agent.kind === 'none' ? undefined : await resolveComponent('kubelet-server', env),
      }),
      (b) => [b.kubeProxy, b.coredns, b.kubeletServer].filter((x) => x !== undefined).join(', '),
    );
    const catalogue = boxCatalogue(bins.coredns, opts.catalogue);
    await mkdir(plan.logDir, { recursive: true });

    const network = await clock.run(
      'network',
      () => createNetwork(planNetwork({ box: name, nodes: plan.nodes.map((n) => n.name), podCidrs: {} })),
      (net) => `bridge ${net.plan.underlay.bridge}, ${net.plan.nodes.map((n) => n.netns).join(', ')}`,
    );
    stack.push('network', () => network.teardown());
    stack.push('processes left in the netns', () => killNetnsProcesses(name));
    stack.push('pod /etc/netns entries left', () => removeEtcNetns(name));

    const cluster = await clock.run(
      'control plane',
      () =>
        startCluster({
          controlPlane: 'full',
          bindAddress: HOST_UNDERLAY_IP,
          workDir: plan.clusterDir,
          name,
          // The box owns its work dir, the cluster's included: it removes it on stop and keeps it (logs) when
          // a start fails, which the cluster's own stop would not.
          env: { ...env, [AMBIT_KEEP_CLUSTER]: '1' },
          readyTimeoutMs: timeoutMs,
          onProgress: (line) => progress(`  ${line}`),
        }),
      (c) => c.server,
    );
    stack.push('control plane', () => cluster.stop());
    const admin = await adminClient(cluster);
    stack.push('admin client', () => Promise.resolve(admin.close()));

    const ca = await readClusterCa(cluster);
    const withCreds = await clock.run('node certificates', () =>
      Promise.all(
        plan.nodes.map(async (layout) => ({
          layout,
          creds: await writeNodeCredentials(cluster, ca, layout),
        })),
      ),
    );

    await clock.run(
      'nodes',
      async () =>
        throwFirstRejection(
          await Promise.allSettled(
            withCreds.map(({ layout, creds }) =>
              startOneNode({
                plan,
                layout,
                creds,
                ca,
                cluster,
                network,
                admin,
                kubeProxyBin: bins.kubeProxy,
                kubeletServerBin: bins.kubeletServer,
                startNode,
                catalogue,
                timeoutMs,
                stack,
                kubeProxies,
                progress: (line) => progress(`  ${line}`),
              }),
            ),
          ),
        ),
      () =>
        `${plan.nodes.length} node(s) with ${
          { kubelet: 'the fake kubelet', hook: 'the node hook', none: 'no kubelet' }[agent.kind]
        } and kube-proxy`,
    );

    const podCidrs = await clock.run(
      'pod CIDRs',
      async () => {
        const views = await Promise.all(
          plan.nodes.map((n) => waitForNode(admin, n.name, 'pod-cidr', timeoutMs)),
        );
        const cidrs = Object.fromEntries(views.map((v) => [v.name, v.podCidr ?? '']));
        await network.setPodCidrs(cidrs);
        return cidrs;
      },
      (cidrs) =>
        Object.entries(cidrs)
          .map(([n, c]) => `${n} ${c}`)
          .join(', '),
    );

    // CoreDNS needs only the nodes: it starts while the CRDs and the load balancer go in (about a second saved);
    // its stage below is then what remains of the wait.
    const dnsInstall = agent.clusterDns
      ? installClusterDns(cluster, admin, network, timeoutMs)
      : Promise.resolve(undefined);
    dnsInstall.catch(() => undefined); // awaited below; a failure of an earlier stage must not leave it unhandled
    await clock.run(
      'CRDs',
      async () => {
        const files = await findCrdFiles();
        await cluster.applyManifests(files);
        return files.length;
      },
      (count) => `${count} file(s) from crds/`,
    );

    const pool = lbPool();
    await clock.run(
      'load balancer',
      async () => {
        const routes = await installLbRoutes(
          pool,
          network.plan.underlay.bridge,
          plan.nodes.map((n) => n.ip),
        );
        stack.push('load balancer routes', () => routes.remove());
        const allocator = await startLbAllocator({
          kubeConfig: cluster.kubeConfig(),
          api: admin,
          pool,
          onError: (err) => progress(`warning: load balancer allocator: ${err.message}`),
        });
        stack.push('load balancer allocator', () => allocator.stop());
      },
      () => 'pool 172.30.0.200-250 routed to the nodes',
    );

    const clusterDns = agent.clusterDns
      ? await clock.run(
          'cluster DNS',
          async () => {
            const timing = await dnsInstall;
            if (timing === undefined) throw new Error('unreachable: cluster DNS was not installed');
            return timing;
          },
          (d) =>
            `CoreDNS Available ${seconds(d.createToAvailableMs)} after apply, in every node's rules ` +
            `${seconds(d.availableToProgrammedMs)} later, kube-dns 10.96.0.10`,
        )
      : undefined;

    const ambit = agent.ambit
      ? await clock.run(
          'Ambit',
          () =>
            installAmbit({
              kubeconfig: cluster.kubeconfigPath,
              nodes: plan.nodes.length,
              timeoutMs: Math.max(timeoutMs, 180_000),
              onProgress: (line) => progress(`  ${line}`),
            }),
          (a) =>
            `operator Available ${seconds(a.applyMs + a.operatorAvailableMs)} after kubectl apply, ` +
            `Mesh Ready ${seconds(a.meshReadyMs)} after its apply, a ztunnel on every node`,
        )
      : undefined;

    const nodes: BoxNode[] = plan.nodes.map((n) => ({
      name: n.name,
      netns: nodeOf(network.plan, n.name).netns,
      ip: n.ip,
      podCidr: podCidrs[n.name] ?? '',
      root: nodeRootDir(n.dir),
    }));
    progress(`box ${name} ready (${seconds(performance.now() - t)})`);
    live.box = new RunningBox({
      plan,
      cluster,
      network,
      nodes,
      kubeProxies,
      kubelets,
      clusterDns,
      ambit,
      timings: clock.timings,
      stack,
      keepWorkDir: harness.keepCluster,
      progress,
      untrack,
    });
    return live.box;
  } catch (err) {
    const failures = await stack.unwind();
    untrack();
    if (err instanceof Error) {
      err.message += `\n(work dir kept for diagnosis: ${plan.workDir})`;
      if (failures.length > 0)
        err.message += `\n(stopping what had started failed too: ${failures.map((f) => f.message).join('; ')})`;
    }
    throw err;
  }
}
