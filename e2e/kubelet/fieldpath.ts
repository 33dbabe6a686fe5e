// Pure downward-API lookups: a pod's fieldRef paths and a container's resourceFieldRef values, as the kubelet gives them.
import type {
  V1Container,
  V1ObjectFieldSelector,
  V1Pod,
  V1ResourceFieldSelector,
} from '@kubernetes/client-node';
import { KubeletError } from './errors.ts';
import { divideCeil, parseQuantity, quantityMilliValue, quantityValue } from './quantity.ts';

/** Runtime facts the API object does not (yet) carry: where the pod runs and its addresses. */
export interface PodFacts {
  readonly nodeName: string;
  /** The node's address (`status.hostIP`). */
  readonly hostIP: string;
  readonly podIP: string;
  /** @default [podIP] */
  readonly podIPs?: readonly string[];
  /** @default [hostIP] */
  readonly hostIPs?: readonly string[];
  /** The node's allocatable resources: what `limits.*` report when the container sets no limit. */
  readonly nodeAllocatable?: Readonly<Record<string, string>>;
}

/** `metadata.labels['key']` → ['metadata.labels', 'key']; a plain path → [path, undefined]. */
function splitSubscript(path: string): readonly [string, string | undefined] {
  const m = /^([^[]+)\['(.*)'\]$/.exec(path);
  return m === null ? [path, undefined] : [m[1] ?? '', m[2]];
}

/** `key="value"` lines sorted by key, values quoted like Go's %q (kubelet `fieldpath.FormatMap`). */
export function formatMap(m: Readonly<Record<string, string>> | undefined): string {
  return Object.keys(m ?? {})
    .sort()
    .map((k) => `${k}=${JSON.stringify(m?.[k] ?? '')}`)
    .join('\n');
}

/**
 * The value of a fieldRef (kubelet `podFieldSelectorRuntimeValue` + `fieldpath.ExtractFieldPathAsString`).
 * Volumes may only use the `metadata.*` paths; env vars may use all of them (the apiserver validates which).
 */
export function podFieldValue(pod: V1Pod, ref: V1ObjectFieldSelector, facts: PodFacts): string {
  const meta = pod.metadata ?? {};
  const [path, key] = splitSubscript(ref.fieldPath);
  if (key !== undefined) {
    if (path === 'metadata.labels') return meta.labels?.[key] ?? '';
    if (path === 'metadata.annotations') return meta.annotations?.[key] ?? '';
  } else {
    switch (path) {
      case 'metadata.name':
        return meta.name ?? '';
      case 'metadata.namespace':
        return meta.namespace ?? '';
      case 'metadata.uid':
        return meta.uid ?? '';
      case 'metadata.labels':
        return formatMap(meta.labels);
      case 'metadata.annotations':
        return formatMap(meta.annotations);
      case 'spec.nodeName':
        return pod.spec?.nodeName ?? facts.nodeName;
      case 'spec.serviceAccountName':
        return pod.spec?.serviceAccountName ?? '';
      case 'status.hostIP':
        return facts.hostIP;
      case 'status.hostIPs':
        return (facts.hostIPs ?? [facts.hostIP]).join(',');
      case 'status.podIP':
        return facts.podIP;
      case 'status.podIPs':
        return (facts.podIPs ?? [facts.podIP]).join(',');
    }
  }
  throw new KubeletError('ERR_FIELD_UNSUPPORTED', `unsupported fieldPath ${ref.fieldPath}`);
}

/**
 * The value of a resourceFieldRef (kubelet `ExtractContainerResourceValue`): limits fall back to node allocatable,
 * CPU is ceil(milli / divisor-milli), everything else ceil(value / divisor).
 */
export function containerResourceValue(
  container: V1Container,
  ref: V1ResourceFieldSelector,
  facts: Pick<PodFacts, 'nodeAllocatable'>,
): string {
  const [kind, resource] = ref.resource.split(/\.(.*)/s) as [string, string | undefined];
  if ((kind !== 'limits' && kind !== 'requests') || resource === undefined || resource === '') {
    throw new KubeletError('ERR_FIELD_UNSUPPORTED', `unsupported resource ${ref.resource}`);
  }
  const own = kind === 'limits' ? container.resources?.limits : container.resources?.requests;
  const fallback = kind === 'limits' ? facts.nodeAllocatable?.[resource] : undefined;
  const quantity = parseQuantity(String(own?.[resource] ?? fallback ?? '0'));
  const divisor = parseQuantity(ref.divisor === undefined ? '1' : String(ref.divisor));
  const value =
    resource === 'cpu'
      ? divideCeil(quantityMilliValue(quantity), quantityMilliValue(divisor))
      : divideCeil(quantityValue(quantity), quantityValue(divisor));
  return value.toString();
}
