// Reads a Service for the allocator and writes its LoadBalancer status as a merge patch (no I/O).
import type { V1Service } from '@kubernetes/client-node';
import type { LbService } from './lb-pool.ts';

/** kube-proxy routes a `VIP` address inside the cluster itself (the default; `Proxy` would send it out). */
export const IP_MODE = 'VIP';

/**
 * A timestamp as client-node hands it over: a Date after a list (deserialised), an RFC 3339 string from a watch
 * event (raw JSON). Epoch milliseconds compare correctly either way; a missing one sorts first.
 */
function epochMs(value: unknown): number {
  if (value instanceof Date) return value.getTime();
  if (typeof value === 'string') return Date.parse(value) || 0;
  return 0;
}

export function lbServiceOf(svc: V1Service): LbService {
  const namespace = svc.metadata?.namespace ?? '';
  return {
    key: `${namespace}/${svc.metadata?.name ?? ''}`,
    type: svc.spec?.type ?? 'ClusterIP',
    loadBalancerClass: svc.spec?.loadBalancerClass ?? undefined,
    requestedIp: svc.spec?.loadBalancerIP || undefined,
    created: epochMs(svc.metadata?.creationTimestamp),
    currentIps: (svc.status?.loadBalancer?.ingress ?? []).flatMap((i) => (i.ip ? [i.ip] : [])),
  };
}

/** True if the Service's status already shows exactly `ip` (or, for undefined, no address at all). */
export function ingressMatches(svc: V1Service, ip: string | undefined): boolean {
  const ingress = svc.status?.loadBalancer?.ingress ?? [];
  if (ip === undefined) return ingress.length === 0;
  const [only, ...more] = ingress;
  return more.length === 0 && only?.ip === ip && only.ipMode === IP_MODE && only.hostname === undefined;
}

/** The merge patch of `services/<name>/status` that sets (or, for undefined, clears) the address. */
export function ingressPatch(ip: string | undefined): Record<string, unknown> {
  return { status: { loadBalancer: { ingress: ip === undefined ? null : [{ ip, ipMode: IP_MODE }] } } };
}
