// L7 authorization at the waypoint (issue 6 §3): the shared `authorizeRequest` decision, answered as Envoy's RBAC
// filter answers a denial. Only policies that target this waypoint's Service or Gateway are passed in (DESIGN §7:
// waypoints never enforce selector policies); choosing them is the caller's.
import {
  authorizeRequest,
  type Authorization,
  type ConnectionFacts,
  type Decision,
  type MtlsPolicy,
  type RequestFacts,
} from '@ambit/config';

/** Envoy's RBAC filter body, which Istio users and tests look for. */
export const RBAC_DENIED_BODY = 'RBAC: access denied';

export type L7Verdict =
  | { readonly allowed: true; readonly policy?: Authorization }
  | {
      readonly allowed: false;
      readonly status: 403;
      readonly body: typeof RBAC_DENIED_BODY;
      readonly reason: Extract<Decision, { allowed: false }>['reason'];
      /** The DENY policy that refused the request, for the access log and metrics. */
      readonly policy?: Authorization;
    };

/** Allows or answers 403 `RBAC: access denied`: DENY first, then ALLOW, as at ztunnel. */
export function authorizeL7(
  policies: readonly Authorization[],
  conn: ConnectionFacts,
  request: RequestFacts,
  mtls?: MtlsPolicy,
): L7Verdict {
  const d = authorizeRequest(policies, conn, request, mtls);
  if (d.allowed) return d.policy ? { allowed: true, policy: d.policy } : { allowed: true };
  return {
    allowed: false,
    status: 403,
    body: RBAC_DENIED_BODY,
    reason: d.reason,
    ...(d.reason === 'denied-by-policy' ? { policy: d.policy } : {}),
  };
}
