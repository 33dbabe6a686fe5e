// The box's default node hook: the fake kubelet for one node, in the node's netns, as `system:node:<node>`, with
// the box's image catalogue and its log in the box's logs/.
import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { once } from 'node:events';
import { APISERVER_KUBELET_CLIENT_IDENTITY } from '../cluster/index.ts';
import { startKubelet, type Kubelet, type KubeletOptions } from '../kubelet/index.ts';
import type { NodeContext } from './node-start.ts';

/** Pod netns of box `box` are `<box>-p<12 hex of the pod uid>`: under the box's prefix, so its reaper finds them. */
export function podNetnsPrefix(box: string): string {
  return `${box}-p`;
}

/** The kubelet's file in the box's log dir. */
export function kubeletLogPath(ctx: Pick<NodeContext, 'logDir' | 'node'>): string {
  return join(ctx.logDir, `kubelet-${ctx.node.name}.log`);
}

/**
 * What the box starts a node's kubelet with (no I/O), so a custom hook can start the same kubelet with a change
 * (e.g. `extraCniPlugins`): `startKubelet({ ...kubeletOptions(ctx), extraCniPlugins })`.
 * 1. Its own dir is `<node dir>/kubelet` (pods, CRI logs, host-local IPAM); hostPath volumes live under
 *    `<node dir>/root`, the node's stand-in for `/`.
 * 2. Pod netns carry the box's prefix (podNetnsPrefix), so a crashed box's pods are reaped with it.
 * 3. Log lines go to `log` (the box passes its log file's writer).
 * 4. With `ctx.kubeletServer`, the kubelet API on <node IP>:10250 with the node's serving certificate, taking
 *    calls from the apiserver's kubelet client certificate only (--kubelet-client-certificate).
 */
export function kubeletOptions(ctx: NodeContext, log?: (line: string) => void): KubeletOptions {
  return {
    nodeName: ctx.node.name,
    nodeNetns: ctx.node.netns,
    nodeIP: ctx.node.ip,
    kubeconfig: ctx.kubeconfigPath,
    workDir: join(ctx.workDir, 'kubelet'),
    hostPathRoot: join(ctx.workDir, 'root'),
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
