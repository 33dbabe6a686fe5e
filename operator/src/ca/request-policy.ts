// Decides who may obtain a certificate for which identity (issue 4, DESIGN §8), from an authenticated caller.
//
// Rules, in order:
//  1. An unauthenticated caller gets nothing.
//  2. Any pod may obtain its own identity (its service account, in the mesh's trust domain): waypoints and
//     gateways ask for theirs this way.
//  3. A ztunnel (the ztunnel service account in Ambit's namespace, token bound to its pod) may obtain the identity
//     of a pod running on its own node, and of no other pod. Its node is the node of the pod the token is bound
//     to, looked up in the cluster, never taken from the request.
import type { WorkloadIdentity } from './spiffe.ts';

/** What TokenReview (and the pod it is bound to) says about the caller. */
export interface AuthenticatedCaller {
  readonly namespace: string;
  readonly serviceAccount: string;
  /** Node of the pod the token is bound to, from the cluster's Pod object; undefined for unbound tokens. */
  readonly node?: string;
}

export interface RequestPolicyFacts {
  readonly trustDomain: string;
  /** Ambit's own namespace and the ztunnel's service account there. */
  readonly systemNamespace: string;
  readonly ztunnelServiceAccount: string;
  /** Identities (namespace/serviceAccount) of the enrolled pods on a node. */
  identitiesOnNode(node: string): readonly { namespace: string; serviceAccount: string }[];
}

export type RequestDecision =
  | { readonly allowed: true; readonly via: 'own-identity' | 'ztunnel-for-local-pod' }
  | { readonly allowed: false; readonly message: string };

const same = (
  a: { namespace: string; serviceAccount: string },
  b: { namespace: string; serviceAccount: string },
) => a.namespace === b.namespace && a.serviceAccount === b.serviceAccount;

export function decideCertificateRequest(
  caller: AuthenticatedCaller | undefined,
  requested: WorkloadIdentity,
  facts: RequestPolicyFacts,
): RequestDecision {
  if (!caller)
    return { allowed: false, message: 'unauthenticated: a bound service-account token is required' };
  if (requested.trustDomain !== facts.trustDomain) {
    return {
      allowed: false,
      message: `trust domain ${requested.trustDomain} is not the mesh's (${facts.trustDomain})`,
    };
  }
  if (same(caller, requested)) return { allowed: true, via: 'own-identity' };
  const isZtunnel =
    caller.namespace === facts.systemNamespace && caller.serviceAccount === facts.ztunnelServiceAccount;
  const who = `${caller.namespace}/${caller.serviceAccount}`;
  const what = `${requested.namespace}/${requested.serviceAccount}`;
  if (!isZtunnel) return { allowed: false, message: `${who} may only obtain its own identity, not ${what}` };
  if (!caller.node) return { allowed: false, message: 'ztunnel token is not bound to a pod on a node' };
  if (!facts.identitiesOnNode(caller.node).some((id) => same(id, requested))) {
    return { allowed: false, message: `no pod with identity ${what} runs on node ${caller.node}` };
  }
  return { allowed: true, via: 'ztunnel-for-local-pod' };
}
