// Resolves the Mesh spec into what a container needs: image, pull policy, log level, resources. The CRD defaults
// `trustDomain` and `logLevel` on the apiserver; the same defaults apply here to a Mesh that never went through it.
import type { Component, MeshSpec, ResourceRequirements } from '@ambit/codegen/crds';
import * as kplus from 'cdk8s-plus-28';
import type { ClusterFacts } from './contract.ts';

/** The CRD's defaults (crds/ambit.dev_meshes.yaml). */
export const DEFAULT_TRUST_DOMAIN = 'cluster.local';
export const DEFAULT_LOG_LEVEL = 'info';

/** Resource requirements as they appear in a container spec: quantities as given, no empty maps. */
export interface Resources {
  readonly requests?: Readonly<Record<string, string | number>>;
  readonly limits?: Readonly<Record<string, string | number>>;
}

export interface ContainerSettings {
  readonly image: string;
  readonly imagePullPolicy: kplus.ImagePullPolicy;
  readonly logLevel: string;
  readonly resources: Resources;
}

const PULL_POLICIES: Record<NonNullable<Component['imagePullPolicy']>, kplus.ImagePullPolicy> = {
  Always: kplus.ImagePullPolicy.ALWAYS,
  IfNotPresent: kplus.ImagePullPolicy.IF_NOT_PRESENT,
  Never: kplus.ImagePullPolicy.NEVER,
};

function quantities(list: ResourceRequirements['requests']): Record<string, string | number> | undefined {
  if (!list) return undefined;
  const defined = Object.entries(list).filter((e): e is [string, string | number] => e[1] !== undefined);
  return defined.length > 0 ? Object.fromEntries(defined) : undefined;
}

function resources(given: ResourceRequirements | undefined, defaults: Resources): Resources {
  if (!given) return defaults;
  // Given resources replace the defaults whole: a user who sets only limits gets requests = limits (Kubernetes'
  // rule), not our requests mixed with their limits.
  const requests = quantities(given.requests);
  const limits = quantities(given.limits);
  return { ...(requests && { requests }), ...(limits && { limits }) };
}

/**
 * The settings of one component's container.
 *
 * @param image the image repository under `facts.imageRegistry`, e.g. `ztunnel`
 * @param defaultResources used when the Mesh sets no `resources` for the component
 */
export function containerSettings(
  component: Component | undefined,
  image: string,
  facts: ClusterFacts,
  defaultResources: Resources,
): ContainerSettings {
  return {
    image: component?.image ?? `${facts.imageRegistry}/${image}:${facts.version}`,
    imagePullPolicy: PULL_POLICIES[component?.imagePullPolicy ?? 'IfNotPresent'],
    logLevel: component?.logLevel ?? DEFAULT_LOG_LEVEL,
    resources: resources(component?.resources, defaultResources),
  };
}

export function trustDomain(spec: MeshSpec): string {
  return spec.trustDomain ?? DEFAULT_TRUST_DOMAIN;
}

/** Names of the Secrets to pull Ambit's images with. */
export function imagePullSecrets(spec: MeshSpec): string[] {
  return (spec.imagePullSecrets ?? []).map((s) => s.name);
}
