// Pure: the ConfigMaps and Secrets a container's env and envFrom read, so they can be fetched before resolveEnv.
import type { V1Container } from '@kubernetes/client-node';

export interface EnvRefs {
  readonly configMaps: readonly string[];
  readonly secrets: readonly string[];
}

/** Names in first-use order, each once. */
export function containerEnvRefs(c: Pick<V1Container, 'env' | 'envFrom'>): EnvRefs {
  const configMaps = new Set<string>();
  const secrets = new Set<string>();
  for (const from of c.envFrom ?? []) {
    if (from.configMapRef?.name !== undefined) configMaps.add(from.configMapRef.name);
    if (from.secretRef?.name !== undefined) secrets.add(from.secretRef.name);
  }
  for (const v of c.env ?? []) {
    const cm = v.valueFrom?.configMapKeyRef?.name;
    const secret = v.valueFrom?.secretKeyRef?.name;
    if (cm !== undefined) configMaps.add(cm);
    if (secret !== undefined) secrets.add(secret);
  }
  return { configMaps: [...configMaps], secrets: [...secrets] };
}
