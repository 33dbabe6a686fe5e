// What a pod worker asks of the node besides containers: the pod's sandbox and volumes, from its spec and context.
import { join } from 'node:path';
import type { V1Pod, V1PodDNSConfig, V1Service } from '@kubernetes/client-node';
import type { BackoffPolicy } from './backoff.ts';
import type { ImageCatalogue } from './catalogue/catalogue.ts';
import { loadConflist } from './cni.ts';
import type { CniNodeView, CniPluginConf } from './cni-config.ts';
import type { KubeletApi } from './kubelet-api.ts';
import type { NodeProber } from './prober.ts';
import { createSandbox, type Sandbox } from './sandbox.ts';
import type { DnsPolicy, PodDnsConfig } from './sandbox-plan.ts';
import type { VolumeLayout } from './volume-plan.ts';
import { materializeVolumes } from './volumes.ts';

/** What every pod worker of a kubelet shares. */
export interface PodWorkerContext {
  readonly nodeName: string;
  readonly nodeIP: string;
  readonly nodeNetns: string;
  readonly podCidr: string;
  readonly allocatable: Readonly<Record<string, string>>;
  /** `<dir>/<uid>` per pod: sandbox files and volumes. */
  readonly podsDir: string;
  /** CRI log root (the kubelet's /var/log/pods). */
  readonly logsDir: string;
  /** host-local's state for the node. */
  readonly ipamDir: string;
  readonly netnsPrefix: string;
  readonly clusterDns: string;
  readonly clusterDomain: string;
  readonly extraCniPlugins: readonly CniPluginConf[];
  readonly cniPath?: readonly string[];
  /** The node's CNI config directory: each sandbox uses the conflist found there (loadConflist). */
  readonly cniConfDir?: string;
  readonly cniNodeView?: CniNodeView;
  readonly hostPathRoot?: string;
  /** Node paths that are the machine's own (VolumeLayout.hostPathShared). */
  readonly hostPathShared?: readonly string[];
  readonly api: KubeletApi;
  readonly catalogue: ImageCatalogue;
  readonly prober: NodeProber;
  readonly services: () => readonly V1Service[];
  readonly log: (line: string) => void;
  /** @default 60_000 */
  readonly volumeRefreshMs?: number;
  readonly backoff?: {
    readonly crash?: BackoffPolicy;
    readonly pull?: BackoffPolicy;
    readonly retry?: BackoffPolicy;
  };
}

/** The pod's own directory: sandbox files and volumes. */
export function podDir(ctx: Pick<PodWorkerContext, 'podsDir'>, uid: string): string {
  return join(ctx.podsDir, uid);
}

export function podLayout(
  ctx: Pick<PodWorkerContext, 'podsDir' | 'hostPathRoot' | 'hostPathShared'>,
  uid: string,
): VolumeLayout {
  const root = ctx.hostPathRoot;
  const shared = ctx.hostPathShared;
  return {
    podDir: podDir(ctx, uid),
    ...(root === undefined ? {} : { hostPathRoot: root }),
    ...(shared === undefined ? {} : { hostPathShared: shared }),
  };
}

function dnsConfigOf(c: V1PodDNSConfig): PodDnsConfig {
  return {
    ...(c.nameservers === undefined ? {} : { nameservers: c.nameservers }),
    ...(c.searches === undefined ? {} : { searches: c.searches }),
    ...(c.options === undefined
      ? {}
      : {
          options: c.options.flatMap((o) =>
            o.name === undefined
              ? []
              : [{ name: o.name, ...(o.value === undefined ? {} : { value: o.value }) }],
          ),
        }),
  };
}

/** The pod's sandbox: its netns on the node's bridge (or the node's netns for hostNetwork), DNS and hosts. */
export async function createPodSandbox(ctx: PodWorkerContext, pod: V1Pod): Promise<Sandbox> {
  const spec = pod.spec;
  const m = pod.metadata ?? {};
  const conflist =
    ctx.cniConfDir === undefined || spec?.hostNetwork === true
      ? undefined
      : await loadConflist(ctx.cniConfDir);
  return createSandbox({
    nodeNetns: ctx.nodeNetns,
    pod: {
      namespace: m.namespace ?? '',
      name: m.name ?? '',
      uid: m.uid ?? '',
      ...(spec?.hostname === undefined ? {} : { hostname: spec.hostname }),
      ...(spec?.subdomain === undefined ? {} : { subdomain: spec.subdomain }),
      ...(spec?.hostAliases === undefined ? {} : { hostAliases: spec.hostAliases }),
      ...(spec?.dnsPolicy === undefined ? {} : { dnsPolicy: spec.dnsPolicy as DnsPolicy }),
      ...(spec?.dnsConfig === undefined ? {} : { dnsConfig: dnsConfigOf(spec.dnsConfig) }),
    },
    podCidr: ctx.podCidr,
    workDir: podDir(ctx, m.uid ?? ''),
    ipamDataDir: ctx.ipamDir,
    hostNetwork: spec?.hostNetwork === true,
    hostIP: ctx.nodeIP,
    dnsServer: ctx.clusterDns,
    clusterDomain: ctx.clusterDomain,
    netnsPrefix: ctx.netnsPrefix,
    extraPlugins: ctx.extraCniPlugins,
    ...(conflist === undefined ? {} : { conflist }),
    ...(ctx.cniPath === undefined ? {} : { cniPath: ctx.cniPath }),
    ...(ctx.cniNodeView === undefined ? {} : { cniNodeView: ctx.cniNodeView }),
  });
}

/** Writes (or refreshes) every volume: ConfigMaps and Secrets read through the API, tokens bound to the pod. */
export async function materializePodVolumes(
  ctx: PodWorkerContext,
  pod: V1Pod,
  sandbox: Sandbox,
): Promise<void> {
  const m = pod.metadata ?? {};
  const namespace = m.namespace ?? '';
  const ref = { namespace, name: m.name ?? '', uid: m.uid ?? '' };
  const serviceAccount = pod.spec?.serviceAccountName ?? 'default';
  await materializeVolumes({
    pod,
    layout: podLayout(ctx, ref.uid),
    sources: {
      getConfigMap: (n) => ctx.api.getConfigMap(namespace, n),
      getSecret: (n) => ctx.api.getSecret(namespace, n),
      requestToken: (audience, seconds) =>
        ctx.api.requestToken({ ...ref, serviceAccount }, audience, seconds),
    },
    facts: {
      nodeName: ctx.nodeName,
      hostIP: ctx.nodeIP,
      podIP: sandbox.podIP,
      nodeAllocatable: ctx.allocatable,
    },
  });
}
