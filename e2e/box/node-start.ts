// Brings up one node of a box: its agent (the kubelet hook, or the box registering the Node itself), then, once the
// Node exists, its kube-proxy; and defines the hook contract the fake kubelet implements.
import { arch, release } from 'node:os';
import type { CertAndKey, Cluster } from '../cluster/index.ts';
import type { ManagedProcess } from '../cluster/process.ts';
import { ApiClient } from '../cluster/rest.ts';
import type { ImageCatalogue } from '../kubelet/index.ts';
import { nodeOf, type BoxNetwork } from '../network/index.ts';
import { startKubeProxy } from './kube-proxy.ts';
import type { NodeCredentials } from './node-credentials.ts';
import { goArch } from './node-object.ts';
import { registerNode } from './node-registration.ts';
import { waitForNode } from './node-wait.ts';
import type { BoxNodeLayout, BoxPlan } from './plan.ts';
import { seconds } from './stages.ts';
import type { TeardownStack } from './teardown-stack.ts';

/** What a node hook (the fake kubelet) gets to bring up one node. */
export interface NodeContext {
  readonly box: string;
  readonly node: {
    readonly name: string;
    readonly index: number;
    /** The node's network namespace (`<box>-<node>`). */
    readonly netns: string;
    /** Its underlay address: the InternalIP it must register. */
    readonly ip: string;
  };
  /** Kubeconfig as `system:node:<name>` (group `system:nodes`). */
  readonly kubeconfigPath: string;
  /** The same client credentials as PEM. */
  readonly credentials: CertAndKey;
  /** The cluster CA (certificate and key), e.g. to mint the kubelet's serving certificate. */
  readonly ca: CertAndKey;
  /**
   * The kubelet API (exec, logs, port-forward): the kubelet-server program and its serving certificate for the
   * node's IP, signed by the cluster CA. Undefined when the box runs no kubelets.
   */
  readonly kubeletServer: { readonly bin: string; readonly serving: CertAndKey } | undefined;
  readonly cluster: Cluster;
  readonly network: BoxNetwork;
  /** A dir of this node's own, removed with the box. */
  readonly workDir: string;
  /** The box's log dir (kept when a start fails): name files after the node. */
  readonly logDir: string;
  /** What the node's kubelet runs for each image: the default catalogue, CoreDNS, and the box's extra entries. */
  readonly catalogue: ImageCatalogue;
  readonly onProgress: (line: string) => void;
}

export interface NodeHandle {
  /** Stops the node's agent; the box calls it once, after stopping the node's kube-proxy. */
  stop(): Promise<void>;
}

/**
 * Brings up one node's agent. It must register the Node (with `status.addresses` holding an InternalIP) by itself;
 * the box waits for that before starting the node's kube-proxy.
 */
export type StartNode = (ctx: NodeContext) => Promise<NodeHandle>;

/** What startOneNode needs; what it starts goes onto `stack` as it comes up (kube-proxies also into `kubeProxies`). */
export interface NodeStartInput {
  readonly plan: BoxPlan;
  readonly layout: BoxNodeLayout;
  readonly creds: NodeCredentials;
  readonly ca: CertAndKey;
  readonly cluster: Cluster;
  readonly network: BoxNetwork;
  readonly admin: ApiClient;
  readonly kubeProxyBin: string;
  /** The kubelet-server program (undefined: the box runs no kubelets). */
  readonly kubeletServerBin: string | undefined;
  readonly startNode: StartNode | undefined;
  readonly catalogue: ImageCatalogue;
  readonly timeoutMs: number;
  readonly stack: TeardownStack;
  readonly kubeProxies: Map<string, ManagedProcess>;
  readonly progress: (line: string) => void;
}

/**
 * One node: its agent (the hook, or the box registering the Node), then, once the Node exists with its InternalIP,
 * its kube-proxy. (kube-proxy started before its Node waits 30 s for it, then runs with /healthz at 503 until the
 * Node shows up.)
 */
export async function startOneNode(i: NodeStartInput): Promise<void> {
  const { layout } = i;
  const netns = nodeOf(i.network.plan, layout.name).netns;
  const say = (line: string): void => i.progress(`${layout.name}: ${line}`);
  let t = performance.now();
  if (i.startNode !== undefined) {
    const handle = await i.startNode({
      box: i.plan.name,
      node: { name: layout.name, index: layout.index, netns, ip: layout.ip },
      kubeconfigPath: layout.nodeKubeconfig,
      credentials: i.creds.node,
      ca: i.ca,
      kubeletServer:
        i.kubeletServerBin === undefined
          ? undefined
          : { bin: i.kubeletServerBin, serving: i.creds.kubeletServing },
      cluster: i.cluster,
      network: i.network,
      workDir: layout.dir,
      logDir: i.plan.logDir,
      catalogue: i.catalogue,
      onProgress: say,
    });
    i.stack.push(`node ${layout.name}`, () => handle.stop());
    await waitForNode(i.admin, layout.name, 'registered', i.timeoutMs);
    say(`node agent up and Node registered (${seconds(performance.now() - t)})`);
  } else {
    const registered = await registerNode({
      facts: {
        box: i.plan.name,
        name: layout.name,
        ip: layout.ip,
        architecture: goArch(arch()),
        kernelVersion: release(),
      },
      api: new ApiClient({
        server: i.cluster.server,
        caPem: i.ca.certPem,
        certPem: i.creds.node.certPem,
        keyPem: i.creds.node.keyPem,
      }),
    });
    i.stack.push(`node ${layout.name}`, () => registered.stop());
    say(`Node registered by the box, no kubelet (${seconds(performance.now() - t)})`);
  }
  t = performance.now();
  const kubeProxy = await startKubeProxy({
    bin: i.kubeProxyBin,
    netns,
    node: layout,
    pidDir: i.plan.workDir,
    timeoutMs: i.timeoutMs,
  });
  i.kubeProxies.set(layout.name, kubeProxy);
  i.stack.push(`kube-proxy ${layout.name}`, () => kubeProxy.stop());
  say(`kube-proxy pid ${kubeProxy.pid} synced (${seconds(performance.now() - t)})`);
}
