// Starts one container of a pod: fetches what its env reads, plans it with the image's program, wires its probes.
import type { V1ConfigMap, V1Container, V1Pod, V1Secret, V1Service } from '@kubernetes/client-node';
import { containerArgv, type ImageProgram } from './catalogue/catalogue.ts';
import { startContainer, type ContainerHandle, type StartContainerOptions } from './container.ts';
import { planContainerStart } from './container-plan.ts';
import { containerEnvRefs } from './env-refs.ts';
import type { EnvFacts } from './env.ts';
import type { KubeletApi } from './kubelet-api.ts';
import type { NodeProber } from './prober.ts';
import { ContainerProbes, type ContainerProbeStatus } from './probes.ts';
import type { Sandbox } from './sandbox.ts';
import type { VolumeLayout } from './volume-plan.ts';

export interface LaunchInput {
  readonly api: KubeletApi;
  readonly pod: V1Pod;
  readonly container: V1Container;
  readonly program: ImageProgram;
  readonly sandbox: Sandbox;
  readonly layout: VolumeLayout;
  readonly logPath: string;
  readonly node: {
    readonly name: string;
    readonly ip: string;
    readonly allocatable: Readonly<Record<string, string>>;
  };
  /** Services of every namespace (the pod gets its own namespace's and `default/kubernetes`). */
  readonly services: readonly V1Service[];
  readonly prober: NodeProber;
  readonly onProbeStatus: (s: ContainerProbeStatus) => void;
  /** The startup probe reached its failure threshold. */
  readonly onStartupFailed: () => void;
}

export type LaunchResult =
  | { readonly ok: true; readonly handle: ContainerHandle; readonly probes: ContainerProbes | undefined }
  /** `config`: it could not be planned (CreateContainerConfigError); `start`: the launcher failed (StartError). */
  | { readonly ok: false; readonly stage: 'config' | 'start'; readonly message: string };

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** EnvFacts with the container's ConfigMaps and Secrets read from the API (missing ones stay undefined). */
async function envFacts(i: LaunchInput): Promise<EnvFacts> {
  const ns = i.pod.metadata?.namespace ?? '';
  const refs = containerEnvRefs(i.container);
  const [cms, secrets] = await Promise.all([
    Promise.all(refs.configMaps.map(async (n) => [n, await i.api.getConfigMap(ns, n)] as const)),
    Promise.all(refs.secrets.map(async (n) => [n, await i.api.getSecret(ns, n)] as const)),
  ]);
  const cmMap = new Map<string, V1ConfigMap | undefined>(cms);
  const secretMap = new Map<string, V1Secret | undefined>(secrets);
  return {
    nodeName: i.node.name,
    hostIP: i.node.ip,
    podIP: i.sandbox.podIP,
    nodeAllocatable: i.node.allocatable,
    configMap: (n) => cmMap.get(n),
    secret: (n) => secretMap.get(n),
    services: i.services,
  };
}

/** The pod with this container's command and args replaced by what the image's program says. */
function withProgram(pod: V1Pod, name: string, argv: { command: string[]; args: string[] }): V1Pod {
  const swap = (c: V1Container): V1Container => (c.name === name ? { ...c, ...argv } : c);
  const spec = pod.spec;
  if (spec === undefined) return pod;
  return {
    ...pod,
    spec: {
      ...spec,
      containers: spec.containers.map(swap),
      ...(spec.initContainers === undefined ? {} : { initContainers: spec.initContainers.map(swap) }),
    },
  };
}

/**
 * 1. Config: env refs fetched, the container planned (env, `$(VAR)`, binds) and its probes built; any failure
 *    here is a config error and nothing runs.
 * 2. Start: the launcher runs; its failure is a StartError (a run that ended at once).
 * 3. The probes start once the container runs; exec probes run inside it.
 */
export async function launchContainer(i: LaunchInput): Promise<LaunchResult> {
  let opts: StartContainerOptions;
  let probes: ContainerProbes | undefined;
  let handle: ContainerHandle | undefined;
  try {
    const facts = await envFacts(i);
    const argv = containerArgv(i.program, i.container);
    opts = planContainerStart({
      pod: withProgram(i.pod, i.container.name, argv),
      container: i.container.name,
      sandbox: i.sandbox,
      layout: i.layout,
      facts,
      logPath: i.logPath,
    });
    const c = i.container;
    if (c.startupProbe !== undefined || c.livenessProbe !== undefined || c.readinessProbe !== undefined) {
      probes = new ContainerProbes({
        container: c,
        target: {
          podIP: i.sandbox.podIP,
          container: c,
          prober: i.prober,
          exec: (command, o) => {
            if (handle === undefined) return Promise.reject(new Error('container not started'));
            return handle.exec(command, o);
          },
        },
        onStatus: i.onProbeStatus,
        onProbe: (e) => {
          if (e.kind === 'startup' && e.state.onHold) i.onStartupFailed();
        },
      });
    }
  } catch (err) {
    return { ok: false, stage: 'config', message: messageOf(err) };
  }
  try {
    handle = await startContainer(opts);
  } catch (err) {
    return { ok: false, stage: 'start', message: messageOf(err) };
  }
  return { ok: true, handle, probes };
}
