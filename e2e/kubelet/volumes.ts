// Materializes a pod's volumes under its work dir: fetches what they reference, then writes each one.
import { chmod, mkdir, open, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { V1ConfigMap, V1Pod, V1Secret } from '@kubernetes/client-node';
import { writeAtomic } from './atomic-writer.ts';
import { KubeletError } from './errors.ts';
import type { PodFacts } from './fieldpath.ts';
import { volumeHostDir, volumeKind, type VolumeLayout } from './volume-plan.ts';
import { tokenKey, volumePayload, volumeRefs, type TokenSpec, type VolumeData } from './volume-payload.ts';

export { planVolumes, type PlannedMount, type VolumeLayout } from './volume-plan.ts';

/**
 * A TokenRequest for the pod's service account, bound to the pod (the caller knows the pod and the client).
 * `audience` '' asks for the apiserver's own audiences.
 */
export type TokenRequester = (audience: string, expirationSeconds: number) => Promise<string>;

/** Read-only lookups in the pod's namespace; undefined means "does not exist". */
export interface VolumeSources {
  readonly getConfigMap: (name: string) => Promise<V1ConfigMap | undefined>;
  readonly getSecret: (name: string) => Promise<V1Secret | undefined>;
  readonly requestToken: TokenRequester;
}

export interface MaterializeOptions {
  /** The pod as the apiserver has it (admission has added kube-api-access-*). */
  readonly pod: V1Pod;
  readonly layout: VolumeLayout;
  readonly sources: VolumeSources;
  readonly facts: PodFacts;
  /** For the AtomicWriter's directory names. @default new Date() */
  readonly now?: Date;
}

/** Fetches every ConfigMap, Secret and token the pod's volumes reference, each once. */
async function fetchVolumeData(pod: V1Pod, sources: VolumeSources): Promise<VolumeData> {
  const cmNames = new Set<string>();
  const secretNames = new Set<string>();
  const tokens = new Map<string, TokenSpec>();
  for (const v of pod.spec?.volumes ?? []) {
    const refs = volumeRefs(v);
    refs.configMaps.forEach((n) => cmNames.add(n));
    refs.secrets.forEach((n) => secretNames.add(n));
    refs.tokens.forEach((t) => tokens.set(tokenKey(t), t));
  }
  const [configMaps, secrets, tokenValues] = await Promise.all([
    Promise.all([...cmNames].map(async (n) => [n, await sources.getConfigMap(n)] as const)),
    Promise.all([...secretNames].map(async (n) => [n, await sources.getSecret(n)] as const)),
    Promise.all(
      [...tokens].map(
        async ([k, t]) => [k, await sources.requestToken(t.audience, t.expirationSeconds)] as const,
      ),
    ),
  ]);
  return { configMaps: new Map(configMaps), secrets: new Map(secrets), tokens: new Map(tokenValues) };
}

async function ensureHostPath(dir: string, type: string, volume: string): Promise<void> {
  switch (type) {
    case '':
    case 'DirectoryOrCreate':
      await mkdir(dir, { recursive: true, mode: 0o755 });
      return;
    case 'FileOrCreate': {
      await mkdir(dirname(dir), { recursive: true, mode: 0o755 });
      await (await open(dir, 'a', 0o644)).close();
      return;
    }
    case 'Directory':
    case 'File':
    case 'Socket':
    case 'CharDevice':
    case 'BlockDevice':
      return; // must exist already; the bind fails at container start if not
    default:
      throw new KubeletError(
        'ERR_VOLUME_UNSUPPORTED',
        `volume ${volume}: hostPath type ${type} is not supported`,
      );
  }
}

/**
 * Writes every volume of the pod and returns volume name → host directory. Everything is fetched and every payload
 * built before the first write, so a missing required ConfigMap/Secret (ERR_VOLUME_SOURCE_MISSING) writes nothing.
 * Calling it again refreshes API-data volumes in place (new tokens, changed ConfigMaps).
 */
export async function materializeVolumes(o: MaterializeOptions): Promise<Map<string, string>> {
  const data = await fetchVolumeData(o.pod, o.sources);
  const volumes = o.pod.spec?.volumes ?? [];
  const planned = volumes.map((v) => ({
    volume: v,
    kind: volumeKind(v),
    dir: volumeHostDir(v, o.layout),
    payload: volumePayload(v, o.pod, data, o.facts),
  }));
  const dirs = new Map<string, string>();
  for (const p of planned) {
    if (p.kind === 'emptyDir') {
      await mkdir(p.dir, { recursive: true });
      await chmod(p.dir, 0o777); // kubelet's emptyDir mode: any container user may write
    } else if (p.kind === 'hostPath') {
      await ensureHostPath(p.dir, p.volume.hostPath?.type ?? '', p.volume.name);
    } else if (p.payload !== undefined) {
      await writeAtomic(p.dir, p.payload, o.now);
    }
    dirs.set(p.volume.name, p.dir);
  }
  return dirs;
}

/** Removes every pod-owned volume directory (hostPath volumes belong to the node and stay). */
export async function removeVolumes(podDir: string): Promise<void> {
  await rm(join(podDir, 'volumes'), { recursive: true, force: true });
}
