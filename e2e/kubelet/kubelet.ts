// The fake kubelet: registers a Node, watches the pods bound to it and runs them with the box's runtime.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { V1Pod, V1Service } from '@kubernetes/client-node';
import type { BackoffPolicy } from './backoff.ts';
import type { ImageCatalogue } from './catalogue/catalogue.ts';
import { writeConflist } from './cni.ts';
import { podConflist, type CniNodeView, type CniPluginConf } from './cni-config.ts';
import type { ContainerHandle } from './container.ts';
import { KubeletError } from './errors.ts';
import { prepareMountpoints } from './mountpoints.ts';
import { startInformer, type Informer } from './informer.ts';
import { KubeRest } from './kube-rest.ts';
import { startKubeletServer, type KubeletServerOptions } from './kubelet-server.ts';
import { restKubeletApi, type KubeletApi } from './kubelet-api.ts';
import { DEFAULT_CAPACITY } from './node-object.ts';
import { NodeStatusReporter, localNodeFacts, type NodeStatusTiming } from './node-status.ts';
import { PodManager } from './pod-manager.ts';
import { NodeProber, ensureProbeSource } from './prober.ts';
import { CLUSTER_DNS, CLUSTER_DOMAIN, DEFAULT_NETNS_PREFIX } from './sandbox-plan.ts';
import { hostPathOnMachine } from './volume-plan.ts';
import { WorkQueue } from './work-queue.ts';

export interface KubeletOptions {
  readonly nodeName: string;
  /** The node's network namespace (it must exist): pod bridges, CNI plugins and probes live there. */
  readonly nodeNetns: string;
  /** The node's InternalIP (status.hostIP of its pods, the IP of hostNetwork pods). */
  readonly nodeIP: string;
  /** Any kubeconfig; on a NodeRestriction cluster, one for `system:node:<nodeName>` in `system:nodes`. */
  readonly kubeconfig: string;
  /**
   * The kubelet's own directory: `pods/<uid>` (sandbox, volumes), `logs/` (CRI logs), `ipam/` (host-local); with
   * `server`, `pki/` and `runtime.sock` (its path must fit a unix socket's 107 bytes).
   */
  readonly workDir: string;
  /** @default '10.96.0.10' */
  readonly clusterDNS?: string;
  /** @default 'cluster.local' */
  readonly clusterDomain?: string;
  readonly catalogue: ImageCatalogue;
  /** Chained after the pod network's bridge (Ambit's node-agent CNI plugin). @default [] */
  readonly extraCniPlugins?: readonly CniPluginConf[];
  /** @default DEFAULT_CAPACITY (cpu 4, memory 16Gi, pods 110, ephemeral-storage 100Gi) */
  readonly capacity?: Readonly<Record<string, string>>;
  /** Prefix of pod netns names (tests use their own so leftovers are recognisable). @default 'kpod-' */
  readonly netnsPrefix?: string;
  /** The node's stand-in for `/`, under which hostPath volumes live; without it they are refused. */
  readonly hostPathRoot?: string;
  /**
   * Node paths that are the machine's own rather than under hostPathRoot (`/proc`, `/var/run/netns`): every node of
   * a box shares one kernel, so its processes and named network namespaces. @default []
   */
  readonly hostPathShared?: readonly string[];
  /**
   * The node's CNI config directory (its `/etc/cni/net.d`). Once the pod CIDR is known the kubelet writes its pod
   * network there (`10-ambit-podnet.conflist`: loopback, bridge with host-local, then extraCniPlugins), as a
   * network add-on installs itself, and every pod sandbox uses the first conflist of the directory as it is at that
   * moment, as containerd does: a plugin that chains itself into it (Ambit's node agent) is called from the next
   * pod on. Unset: the conflist is built in memory and never changes.
   */
  readonly cniConfDir?: string;
  /**
   * Node paths whose node copies (under hostPathRoot) CNI plugins see at their node path: on a real node a chained
   * plugin finds its agent's socket through the node's filesystem (Ambit's `/var/run/ambit/cni.sock`). @default []
   */
  readonly cniNodePaths?: readonly string[];
  /** @default DEFAULT_CNI_PATH */
  readonly cniPath?: readonly string[];
  /** How long to wait for the controller-manager to allocate spec.podCIDR. @default 60_000 */
  readonly podCidrTimeoutMs?: number;
  /** Node shutdown (stop): the most any pod gets before SIGKILL. @default 10 */
  readonly shutdownGraceSeconds?: number;
  readonly nodeStatus?: NodeStatusTiming;
  /** Every pod is synced at least this often (volume refresh, missed wake-ups). @default 30_000 */
  readonly resyncMs?: number;
  readonly backoff?: {
    readonly crash?: BackoffPolicy;
    readonly pull?: BackoffPolicy;
    readonly retry?: BackoffPolicy;
  };
  /**
   * The kubelet API on <nodeIP>:10250 (exec, attach, port-forward, logs for `kubectl`), served by the kubelet-server
   * program in the node's netns. Without it the Node still names port 10250 but nothing listens there.
   */
  readonly server?: KubeletServerOptions;
  /** @default a line on stderr prefixed with the node name */
  readonly log?: (line: string) => void;
}

export interface Kubelet {
  readonly nodeName: string;
  /** spec.podCIDR as kube-controller-manager allocated it. */
  readonly podCidr: string;
  /** The CRI log file of a container's current (or latest) run, or the run before with `previous`. */
  logPath(namespace: string, pod: string, container: string, previous?: boolean): string | undefined;
  /** A running container (for exec). */
  container(namespace: string, pod: string, container: string): ContainerHandle | undefined;
  /**
   * Stops the kubelet as a node shutdown would: watches end, every pod's containers get SIGTERM, at most
   * shutdownGraceSeconds, SIGKILL, then CNI DEL and the netns and volumes go. Pod and Node objects stay. Idempotent.
   */
  stop(): Promise<void>;
}

/** Collects what start made so far, so a failed start undoes it. */
class Stack {
  readonly #undo: (() => Promise<void>)[] = [];
  push(f: () => Promise<void>): void {
    this.#undo.push(f);
  }
  async unwind(log: (line: string) => void): Promise<void> {
    for (const f of this.#undo.splice(0).reverse()) {
      await f().catch((err: unknown) => log(`stop: ${err instanceof Error ? err.message : String(err)}`));
    }
  }
}

/**
 * The node's own directories as CNI plugins see them: each node path's copy under hostPathRoot, bound over the
 * node path. Missing mount points on the host are made once here (the least footprint, see mountpoints.ts) and
 * released when the kubelet stops.
 */
async function prepareCniNodeView(o: KubeletOptions, stack: Stack): Promise<CniNodeView | undefined> {
  const paths = o.cniNodePaths ?? [];
  if (paths.length === 0) return undefined;
  if (o.hostPathRoot === undefined) {
    throw new KubeletError('ERR_VOLUME_UNSUPPORTED', 'cniNodePaths needs hostPathRoot');
  }
  const layout = { podDir: o.workDir, hostPathRoot: o.hostPathRoot };
  const binds = paths.map((p) => ({ source: hostPathOnMachine(p, layout), target: p }));
  await Promise.all(binds.map((b) => mkdir(b.source, { recursive: true })));
  const lease = await prepareMountpoints(binds.map((b) => ({ target: b.target, kind: 'dir' as const })));
  stack.push(() => lease.release());
  return { binds, tmpfsDirs: lease.tmpfsDirs };
}

/**
 * Starts the kubelet and resolves once it is serving:
 * 1. the probe source address exists in the node netns;
 * 2. the Node is registered (Ready) with its Lease, and spec.podCIDR is allocated;
 * 3. with `server`, the kubelet API listens on <nodeIP>:10250;
 * 4. the Services and this node's Pods are listed and watched; every pod event re-syncs that pod.
 */
export async function startKubelet(o: KubeletOptions): Promise<Kubelet> {
  const log = o.log ?? ((line: string) => process.stderr.write(`[kubelet ${o.nodeName}] ${line}\n`));
  const rest = KubeRest.fromFile(o.kubeconfig);
  const api: KubeletApi = restKubeletApi(rest);
  const capacity = o.capacity ?? DEFAULT_CAPACITY;
  const stack = new Stack();
  try {
    const dirs = {
      pods: join(o.workDir, 'pods'),
      logs: join(o.workDir, 'logs'),
      ipam: join(o.workDir, 'ipam'),
    };
    await Promise.all(Object.values(dirs).map((d) => mkdir(d, { recursive: true })));
    await ensureProbeSource(o.nodeNetns);
    const prober = new NodeProber(o.nodeNetns);
    stack.push(() => prober.close());

    const reporter = new NodeStatusReporter(
      api,
      localNodeFacts(o.nodeName, o.nodeIP, { ...DEFAULT_CAPACITY, ...capacity }),
      log,
      o.nodeStatus,
    );
    stack.push(() => reporter.stop());
    await reporter.register();
    const podCidr = await reporter.waitForPodCidr(o.podCidrTimeoutMs ?? 60_000);
    if (o.cniConfDir !== undefined) {
      await mkdir(o.cniConfDir, { recursive: true });
      const path = await writeConflist(
        o.cniConfDir,
        podConflist({ podCidr, ipamDataDir: dirs.ipam, extraPlugins: o.extraCniPlugins ?? [] }),
      );
      log(`pod network config ${path}`);
    }
    const cniNodeView = await prepareCniNodeView(o, stack);

    const services = startInformer<V1Service>({
      kubeConfig: rest.kubeConfig,
      path: '/api/v1/services',
      list: () => api.listServices(),
      onChange: () => undefined,
      log,
    });
    stack.push(() => services.stop());

    const pods: { informer?: Informer<V1Pod> } = {};
    const podCache = {
      get: (n: string, ns?: string) => pods.informer?.get(n, ns),
      list: () => pods.informer?.list() ?? [],
    };
    const queue = new WorkQueue({
      reconcile: (key) => manager.reconcile(key),
      onError: (key, err) =>
        log(`pod ${key}: sync failed: ${err instanceof Error ? err.message : String(err)}`),
    });
    const manager = new PodManager(
      {
        nodeName: o.nodeName,
        nodeIP: o.nodeIP,
        nodeNetns: o.nodeNetns,
        podCidr,
        allocatable: { ...DEFAULT_CAPACITY, ...capacity },
        podsDir: dirs.pods,
        logsDir: dirs.logs,
        ipamDir: dirs.ipam,
        netnsPrefix: o.netnsPrefix ?? DEFAULT_NETNS_PREFIX,
        clusterDns: o.clusterDNS ?? CLUSTER_DNS,
        clusterDomain: o.clusterDomain ?? CLUSTER_DOMAIN,
        extraCniPlugins: o.extraCniPlugins ?? [],
        ...(o.cniPath === undefined ? {} : { cniPath: o.cniPath }),
        ...(o.hostPathRoot === undefined ? {} : { hostPathRoot: o.hostPathRoot }),
        ...(o.hostPathShared === undefined ? {} : { hostPathShared: o.hostPathShared }),
        ...(o.cniConfDir === undefined ? {} : { cniConfDir: o.cniConfDir }),
        ...(cniNodeView === undefined ? {} : { cniNodeView }),
        api,
        catalogue: o.catalogue,
        prober,
        services: () => services.list(),
        log,
        ...(o.backoff === undefined ? {} : { backoff: o.backoff }),
      },
      podCache,
      (key, ms) => queue.addAfter(key, ms ?? 0),
    );
    stack.push(() => manager.shutdown(o.shutdownGraceSeconds ?? 10));
    stack.push(() => queue.stop());
    if (o.server !== undefined) {
      const server = await startKubeletServer({
        options: o.server,
        node: { netns: o.nodeNetns, ip: o.nodeIP },
        dir: o.workDir,
        view: manager.runtimeView(),
        log,
      });
      stack.push(() => server.stop());
    }

    const informer = startInformer<V1Pod>({
      kubeConfig: rest.kubeConfig,
      path: '/api/v1/pods',
      fieldSelector: `spec.nodeName=${o.nodeName}`,
      list: () => api.listPods(`spec.nodeName=${o.nodeName}`),
      onChange: (pod) => queue.add(manager.observe(pod)),
      log,
    });
    pods.informer = informer;
    stack.push(() => informer.stop());
    const synced = Promise.all([services.synced, informer.synced]);
    const giveUp = new AbortController();
    const timeout = sleep(60_000, 'timeout' as const, { signal: giveUp.signal }).catch(
      () => 'synced' as const,
    );
    const first = await Promise.race([synced.then(() => 'synced' as const), timeout]);
    giveUp.abort();
    if (first === 'timeout') {
      throw new KubeletError('ERR_KUBE_API', `node ${o.nodeName}: pods or services not listed within 60 s`);
    }

    const resync = setInterval(() => {
      for (const key of manager.keys()) queue.add(key);
    }, o.resyncMs ?? 30_000);
    stack.push(() => Promise.resolve(clearInterval(resync)));
    log(`node ${o.nodeName} registered, podCIDR ${podCidr}`);

    let stopping: Promise<void> | undefined;
    return {
      nodeName: o.nodeName,
      podCidr,
      logPath: (ns, pod, container, previous) => manager.logPath(ns, pod, container, previous),
      container: (ns, pod, container) => manager.container(ns, pod, container),
      stop: () => (stopping ??= stack.unwind(log)),
    };
  } catch (err) {
    await stack.unwind(log);
    throw err;
  }
}
