// What each subscriber receives (DESIGN §4, issue 4): a ztunnel gets every Workload and Service it may route to,
// but Authorizations only as they apply to workloads on its own node; a waypoint gets the records of what it fronts.
import type { Authorization, Service, Workload } from '@ambit/config';

/** The records one proxy is sent, keyed by id. */
export interface ProxyConfig {
  readonly workloads: ReadonlyMap<string, Workload>;
  readonly services: ReadonlyMap<string, Service>;
  readonly authorizations: ReadonlyMap<string, Authorization>;
}

/** The whole translated config, of which each proxy gets a scope. */
export type FullConfig = ProxyConfig;

/** Whether a policy applies to a workload (scope rules of DESIGN §7). */
export function appliesTo(a: Authorization, w: Workload): boolean {
  switch (a.scope) {
    case 'Global':
      return true;
    case 'Namespace':
      return a.namespace === w.namespace;
    case 'WorkloadSelector':
      return w.authorizationPolicies.includes(a.id);
  }
}

/**
 * A ztunnel's view: all workloads and services (it routes anywhere), and the authorizations that apply to at least
 * one enrolled workload on its node. Cost: O(policies × local workloads), local workloads being few per node.
 */
export function ztunnelScope(config: FullConfig, node: string): ProxyConfig {
  const local = [...config.workloads.values()].filter((w) => w.node === node && w.protocol === 'HBONE');
  const authorizations = new Map<string, Authorization>();
  for (const [id, a] of config.authorizations) {
    if (local.some((w) => appliesTo(a, w))) authorizations.set(id, a);
  }
  return { workloads: config.workloads, services: config.services, authorizations };
}
