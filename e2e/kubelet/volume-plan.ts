// Pure volume planning: where each pod volume lives on the host and which binds a container gets.
import { join, posix } from 'node:path';
import type { V1Container, V1PodSpec, V1Volume } from '@kubernetes/client-node';
import { KubeletError } from './errors.ts';
import { expand } from './expansion.ts';
import type { ContainerMount, EnvVar } from './types.ts';

export type VolumeKind = 'emptyDir' | 'configMap' | 'secret' | 'downwardAPI' | 'projected' | 'hostPath';

/** The kubelet's per-plugin directory names under `pods/<uid>/volumes/`. */
const PLUGIN_DIRS: Record<Exclude<VolumeKind, 'hostPath'>, string> = {
  emptyDir: 'kubernetes.io~empty-dir',
  configMap: 'kubernetes.io~configmap',
  secret: 'kubernetes.io~secret',
  downwardAPI: 'kubernetes.io~downward-api',
  projected: 'kubernetes.io~projected',
};

/** API-data volumes: the kubelet always mounts them read-only, whatever the volumeMount says. */
const ALWAYS_READ_ONLY: ReadonlySet<VolumeKind> = new Set([
  'configMap',
  'secret',
  'downwardAPI',
  'projected',
]);

export interface VolumeLayout {
  /** The pod's directory (kubelet: /var/lib/kubelet/pods/<uid>). */
  readonly podDir: string;
  /** The node's stand-in for `/` that hostPath volumes resolve under; without it hostPath is unsupported. */
  readonly hostPathRoot?: string;
  /**
   * Node paths that are the machine's own, shared by every node, so a hostPath at or below one resolves to the same
   * host path rather than under hostPathRoot: `/proc`, and `/var/run/netns` where pod network namespaces are
   * named. @default []
   */
  readonly hostPathShared?: readonly string[];
}

function isAtOrUnder(path: string, dir: string): boolean {
  return path === dir || path.startsWith(dir === '/' ? '/' : `${dir}/`);
}

/**
 * Where a hostPath volume's node path lives on this machine: the path itself when it is at or below a shared path,
 * else the same path under the node root.
 */
export function hostPathOnMachine(nodePath: string, layout: VolumeLayout): string {
  const path = posix.normalize(`/${nodePath}`);
  if ((layout.hostPathShared ?? []).some((d) => isAtOrUnder(path, posix.normalize(d)))) return path;
  if (layout.hostPathRoot === undefined) {
    throw new KubeletError('ERR_VOLUME_UNSUPPORTED', `hostPath ${path} needs a node root directory`);
  }
  return join(layout.hostPathRoot, path);
}

/** The volume's type; anything but the six the fake kubelet implements throws ERR_VOLUME_UNSUPPORTED. */
export function volumeKind(v: V1Volume): VolumeKind {
  if (v.emptyDir !== undefined) return 'emptyDir';
  if (v.configMap !== undefined) return 'configMap';
  if (v.secret !== undefined) return 'secret';
  if (v.downwardAPI !== undefined) return 'downwardAPI';
  if (v.projected !== undefined) return 'projected';
  if (v.hostPath !== undefined) return 'hostPath';
  const kind = Object.keys(v).find((k) => k !== 'name') ?? '(none)';
  throw new KubeletError('ERR_VOLUME_UNSUPPORTED', `volume ${v.name}: type ${kind} is not supported`);
}

/** Where the volume's files live on the host. */
export function volumeHostDir(v: V1Volume, layout: VolumeLayout): string {
  const kind = volumeKind(v);
  if (kind === 'hostPath') {
    try {
      return hostPathOnMachine(v.hostPath?.path ?? '', layout);
    } catch (err) {
      if (err instanceof KubeletError) {
        throw new KubeletError('ERR_VOLUME_UNSUPPORTED', `volume ${v.name}: ${err.message}`);
      }
      throw err;
    }
  }
  return join(layout.podDir, 'volumes', PLUGIN_DIRS[kind], v.name);
}

/** A relative path that stays inside its base: no leading `/`, no `..` component (kubelet subPath and item rules). */
export function checkRelativePath(path: string, what: string): string {
  if (path.startsWith('/') || path.split('/').includes('..')) {
    throw new KubeletError(
      'ERR_VOLUME_INVALID_PATH',
      `${what}: ${JSON.stringify(path)} must be relative, without ..`,
    );
  }
  return path;
}

export interface PlannedMount extends ContainerMount {
  readonly volumeName: string;
  readonly kind: VolumeKind;
  /** The volume's own directory; hostPath is it or a subPath below it. */
  readonly volumeDir: string;
  /** Set when the mount uses subPath or subPathExpr (the expanded value). */
  readonly subPath?: string;
}

function subPathOf(
  mount: { subPath?: string; subPathExpr?: string },
  env: readonly EnvVar[],
  what: string,
): string {
  if (mount.subPathExpr !== undefined && mount.subPathExpr !== '') {
    const vars = new Map(env.map((e) => [e.name, e.value]));
    const missing: string[] = [];
    const value = expand(mount.subPathExpr, (name) => {
      const v = vars.get(name);
      if (v === undefined || v === '') missing.push(name);
      return v ?? '';
    });
    if (missing.length > 0) {
      throw new KubeletError(
        'ERR_VOLUME_INVALID_PATH',
        `${what}: subPathExpr misses ${missing.sort().join(', ')}`,
      );
    }
    return checkRelativePath(value, what);
  }
  return checkRelativePath(mount.subPath ?? '', what);
}

/**
 * The binds for one container, in its volumeMounts order: host dir (plus subPath) → mountPath. API-data volumes are
 * read-only; `env` (the container's resolved environment) expands `subPathExpr`.
 */
export function planVolumes(
  podSpec: V1PodSpec,
  container: V1Container,
  layout: VolumeLayout,
  env: readonly EnvVar[] = [],
): PlannedMount[] {
  const volumes = new Map((podSpec.volumes ?? []).map((v) => [v.name, v]));
  return (container.volumeMounts ?? []).map((m) => {
    const volume = volumes.get(m.name);
    if (volume === undefined) {
      throw new KubeletError(
        'ERR_VOLUME_NOT_FOUND',
        `container ${container.name}: volumeMount ${m.mountPath} names unknown volume ${m.name}`,
      );
    }
    const kind = volumeKind(volume);
    const volumeDir = volumeHostDir(volume, layout);
    const subPath = subPathOf(m, env, `container ${container.name} volumeMount ${m.mountPath}`);
    return {
      volumeName: m.name,
      kind,
      volumeDir,
      hostPath: subPath === '' ? volumeDir : join(volumeDir, subPath),
      mountPath: posix.normalize(m.mountPath),
      readOnly: m.readOnly === true || ALWAYS_READ_ONLY.has(kind),
      ...(subPath === '' ? {} : { subPath }),
    };
  });
}
