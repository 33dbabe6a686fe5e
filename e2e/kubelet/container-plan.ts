// Pure composition of a container start from the pod as the apiserver has it: env, command, volume binds, hostname.
import { join } from 'node:path';
import type { V1Container, V1Pod } from '@kubernetes/client-node';
import type { StartContainerOptions } from './container.ts';
import { expandCommand, resolveEnv, type EnvFacts } from './env.ts';
import { KubeletError } from './errors.ts';
import { podHostname } from './sandbox-plan.ts';
import type { Sandbox } from './sandbox.ts';
import { planVolumes, type VolumeLayout } from './volume-plan.ts';

/** The kubelet's log file of one container run: `<root>/<ns>_<name>_<uid>/<container>/<restartCount>.log`. */
export function podLogPath(root: string, pod: V1Pod, container: string, restartCount = 0): string {
  const m = pod.metadata ?? {};
  return join(root, `${m.namespace ?? ''}_${m.name ?? ''}_${m.uid ?? ''}`, container, `${restartCount}.log`);
}

export interface ContainerStartInput {
  readonly pod: V1Pod;
  /** The name of a container or init container of the pod. */
  readonly container: string;
  readonly sandbox: Pick<Sandbox, 'netns' | 'nodeNetns' | 'hostNetwork' | 'etcMounts'>;
  readonly layout: VolumeLayout;
  /** Facts and lookups for env (podIP should be the sandbox's). */
  readonly facts: EnvFacts;
  readonly logPath: string;
}

/**
 * What startContainer needs for one container of the pod:
 * 1. env resolved (resolveEnv), then command/args expanded against it;
 * 2. volume binds from its volumeMounts (subPathExpr expanded with that env), then the sandbox's /etc binds;
 * 3. the pod hostname in a UTS namespace of its own, except for hostNetwork pods (they share the node's).
 */
export function planContainerStart(i: ContainerStartInput): StartContainerOptions {
  const spec = i.pod.spec;
  const c: V1Container | undefined = [...(spec?.containers ?? []), ...(spec?.initContainers ?? [])].find(
    (x) => x.name === i.container,
  );
  if (spec === undefined || c === undefined) {
    throw new KubeletError('ERR_CONTAINER_START', `pod has no container ${i.container}`);
  }
  const env = resolveEnv(c, i.pod, i.facts);
  const { command, args } = expandCommand(c, env);
  const meta = i.pod.metadata ?? {};
  return {
    name: `${meta.namespace ?? ''}/${meta.name ?? ''}/${c.name}`,
    netns: i.sandbox.netns,
    nodeNetns: i.sandbox.nodeNetns,
    command,
    args,
    env,
    ...(c.workingDir === undefined ? {} : { workingDir: c.workingDir }),
    mounts: [
      ...planVolumes(spec, c, i.layout, env).map((m) => ({
        hostPath: m.hostPath,
        mountPath: m.mountPath,
        readOnly: m.readOnly,
      })),
      ...i.sandbox.etcMounts,
    ],
    logPath: i.logPath,
    ...(i.sandbox.hostNetwork ? {} : { hostname: podHostname(meta.name ?? '', spec.hostname) }),
  };
}
