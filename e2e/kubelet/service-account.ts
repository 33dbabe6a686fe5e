// The `kube-api-access-*` projected volume the ServiceAccount admission plugin injects, for pod specs built locally.
import { randomInt } from 'node:crypto';
import type { V1PodSpec, V1Volume, V1VolumeMount } from '@kubernetes/client-node';

export const SERVICE_ACCOUNT_MOUNT_PATH = '/var/run/secrets/kubernetes.io/serviceaccount';
/** Published in every namespace by kube-controller-manager's root-ca-cert-publisher. */
export const ROOT_CA_CONFIGMAP = 'kube-root-ca.crt';
/** The admission plugin's token lifetime: the apiserver extends such tokens and warns when an expired one is used. */
export const ADMISSION_TOKEN_EXPIRATION_SECONDS = 3607;
export const KUBE_API_ACCESS_PREFIX = 'kube-api-access-';

/** apimachinery `utilrand.String` alphabet (no vowels, no confusable digits). */
const ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

/** A 5-character suffix as the admission plugin generates it. */
export function randomSuffix(rand: (max: number) => number = randomInt): string {
  let s = '';
  for (let i = 0; i < 5; i++) s += ALPHABET[rand(ALPHABET.length)] ?? 'b';
  return s;
}

/** The projected volume (admission `TokenVolumeSource`): token, the cluster CA, the namespace; mode 0644. */
export function kubeApiAccessVolume(name: string): V1Volume {
  return {
    name,
    projected: {
      defaultMode: 0o644,
      sources: [
        { serviceAccountToken: { path: 'token', expirationSeconds: ADMISSION_TOKEN_EXPIRATION_SECONDS } },
        { configMap: { name: ROOT_CA_CONFIGMAP, items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
        {
          downwardAPI: {
            items: [{ path: 'namespace', fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } }],
          },
        },
      ],
    },
  };
}

export function kubeApiAccessMount(volumeName: string): V1VolumeMount {
  return { name: volumeName, mountPath: SERVICE_ACCOUNT_MOUNT_PATH, readOnly: true };
}

/**
 * The spec as the admission plugin leaves it: unless `automountServiceAccountToken` is false, add the volume and
 * mount it in every (init) container that has nothing mounted at the service-account path. Returns a new spec.
 */
export function withKubeApiAccess(spec: V1PodSpec, suffix: string = randomSuffix()): V1PodSpec {
  if (spec.automountServiceAccountToken === false) return spec;
  const name = `${KUBE_API_ACCESS_PREFIX}${suffix}`;
  let used = false;
  const mountIn = <C extends { volumeMounts?: V1VolumeMount[] }>(c: C): C => {
    if ((c.volumeMounts ?? []).some((m) => m.mountPath === SERVICE_ACCOUNT_MOUNT_PATH)) return c;
    used = true;
    return { ...c, volumeMounts: [...(c.volumeMounts ?? []), kubeApiAccessMount(name)] };
  };
  const containers = spec.containers.map(mountIn);
  const initContainers = spec.initContainers?.map(mountIn);
  if (!used) return spec;
  return {
    ...spec,
    containers,
    ...(initContainers === undefined ? {} : { initContainers }),
    volumes: [...(spec.volumes ?? []), kubeApiAccessVolume(name)],
  };
}
