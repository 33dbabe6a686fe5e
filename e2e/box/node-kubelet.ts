// The box's default node hook: the fake kubelet for one node, in the node's netns, as `system:node:<node>`, with
// the box's image catalogue and its log in the box's logs/.
import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { once } from 'node:events';
import { APISERVER_KUBELET_CLIENT_IDENTITY } from '../cluster/index.ts';
import {
  DEFAULT_CNI_PATH,
  hostPathOnMachine,
  startKubelet,
  type Kubelet,
  type KubeletOptions,
} from '../kubelet/index.ts';
import type { NodeContext } from './node-start.ts';
import { nodeRootDir } from './plan.ts';

/** Pod netns of box `box` are `<box>-p<12 hex of the pod uid>`: under the box's prefix, so its reaper finds them. */
export function podNetnsPrefix(box: string): string {
  return `${box}-p`;
}

/**
 * Node paths that are the machine's own on every node (hostPath volumes there resolve to themselves): one kernel
 * runs every node, so `/proc` and the named network namespaces (`ip netns`' `/run/netns`, which `/var/run` links to)
 * are the same for all, as they are on a real node for everything on it. Ambit's node agent finds pod netns there.
 */
export const SHARED_HOST_PATHS: readonly string[] = ['/proc', '/run/netns', '/var/run/netns'];

/** The node's CNI directories, as a real node has them (each under the node's root). */
export const NODE_CNI_CONF_DIR = '/etc/cni/net.d';
export const NODE_CNI_BIN_DIR = '/opt/cni/bin';

/**
 * Node directories that CNI plugins see at their node path: Ambit's node agent and ztunnel share `/var/run/ambit`
 * (hostPath), and the agent's chained plugin dials the agent's socket there.
 */
export const CNI_NODE_PATHS: readonly string[] = ['/var/run/ambit'];

/** The kubelet's file in the box's log dir. */
export function kubeletLogPath(ctx: Pick<NodeContext, 'logDir' | 'node'>): string {
  return join(ctx.logDir, `kubelet-${ctx.node.name}.log`);
}

/**
 * What the box starts a node's kubelet with (no I/O), so a custom hook can start the same kubelet with a change
 * (e.g. `extraCniPlugins`): `startKubelet({ ...kubeletOptions(ctx), extraCniPlugins })`.
 * 1. Its own dir is `<node dir>/kubelet` (pods, CRI logs, host-local IPAM); hostPath volumes live under
 *    `<node dir>/root`, the node's stand-in for `/`, except SHARED_HOST_PATHS, which are the machine's.
 * 1a. The node's CNI config is `<root>/etc/cni/net.d` (the kubelet writes its pod network there; Ambit's node agent
 *    chains its plugin in), binaries are looked up in `<root>/opt/cni/bin` then Debian's; plugins see
 *    CNI_NODE_PATHS as the node's.
 * 2. Pod netns carry the box's prefix (podNetnsPrefix), so a crashed box's pods are reaped with it.
 * 3. Log lines go to `log` (the box passes its log file's writer).
 * 4. With `ctx.kubeletServer`, the kubelet API on <node IP>:10250 with the node's serving certificate, taking
 *    calls from the apiserver's kubelet client certificate only (--kubelet-client-certificate).
 */
export function kubeletOptions(ctx: NodeContext, log?: (line: string) => void): KubeletOptions {
  const root = nodeRootDir(ctx.workDir);
  const onNode = (path: string): string =>
    hostPathOnMachine(path, { podDir: ctx.workDir, hostPathRoot: root });
  return {
    nodeName: ctx.node.name,
    nodeNetns: ctx.node.netns,
    nodeIP: ctx.node.ip,
    kubeconfig: ctx.kubeconfigPath,
    workDir: join(ctx.workDir, 'kubelet'),
    hostPathRoot: root,
    hostPathShared: SHARED_HOST_PATHS,
    cniConfDir: onNode(NODE_CNI_CONF_DIR),
    cniPath: [onNode(NODE_CNI_BIN_DIR), ...DEFAULT_CNI_PATH],
    cniNodePaths: CNI_NODE_PATHS,
    catalogue: ctx.catalogue,
    netnsPrefix: podNetnsPrefix(ctx.box),
    ...(ctx.kubeletServer === undefined
      ? {}
      : {
          server: {
            bin: ctx.kubeletServer.bin,
            certPem: ctx.kubeletServer.serving.certPem,
            keyPem: ctx.kubeletServer.serving.keyPem,
            clientCaPem: ctx.ca.certPem,
            allowedClients: [APISERVER_KUBELET_CLIENT_IDENTITY.cn],
          },
        }),
    ...(log === undefined ? {} : { log }),
  };
}

/**
 * Starts the node's kubelet with kubeletOptions(ctx), logging to logs/kubelet-<node>.log. Resolves once the Node
 * is registered with its pod CIDR and the kubelet watches its pods; its `stop()` is a node shutdown, then the log
 * file is closed.
 */
export async function startKubeletNode(ctx: NodeContext): Promise<Kubelet> {
  const options = kubeletOptions(ctx);
  await mkdir(options.hostPathRoot ?? ctx.workDir, { recursive: true });
  const file = createWriteStream(kubeletLogPath(ctx), { flags: 'a' });
  const log = (line: string): void => {
    file.write(`${new Date().toISOString()} ${line}\n`);
  };
  const close = async (): Promise<void> => {
    file.end();
    if (!file.closed) await once(file, 'close');
  };
  let kubelet: Kubelet;
  try {
    kubelet = await startKubelet({ ...options, log });
  } catch (err) {
    await close();
    throw err;
  }
  ctx.onProgress(`kubelet up, podCIDR ${kubelet.podCidr}`);
  let stopping: Promise<void> | undefined;
  return {
    nodeName: kubelet.nodeName,
    podCidr: kubelet.podCidr,
    logPath: (...a) => kubelet.logPath(...a),
    container: (...a) => kubelet.container(...a),
    stop: () => (stopping ??= kubelet.stop().finally(close)),
  };
}
