// Authenticates callers of the control plane by their bound service-account token (TokenReview), and finds the
// node of the pod the token is bound to. The I/O edge of the CA's request policy.
import { AuthenticationV1Api, CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import type { AuthenticatedCaller } from './request-policy.ts';

/** The audience Ambit's proxies request for their control-plane tokens. */
export const CONTROL_PLANE_AUDIENCE = 'ambit.dev/control-plane';

/** The token of an `authorization: Bearer <token>` gRPC metadata entry, if any. */
export function bearerToken(metadata: { get(key: string): unknown[] }): string | undefined {
  const value = metadata.get('authorization')[0];
  return typeof value === 'string' ? /^Bearer (.+)$/.exec(value)?.[1] : undefined;
}

const SA_USER = /^system:serviceaccount:([^:]+):([^:]+)$/;

export interface TokenAuthenticator {
  authenticate(token: string | undefined): Promise<AuthenticatedCaller | undefined>;
}

/** TokenReview against the apiserver, then the bound pod's node from the Pod itself (uid-checked). */
export function tokenReviewAuthenticator(
  kc: KubeConfig,
  audience = CONTROL_PLANE_AUDIENCE,
): TokenAuthenticator {
  const authn = kc.makeApiClient(AuthenticationV1Api);
  const core = kc.makeApiClient(CoreV1Api);
  return {
    async authenticate(token) {
      if (!token) return undefined;
      const review = await authn.createTokenReview({
        body: {
          apiVersion: 'authentication.k8s.io/v1',
          kind: 'TokenReview',
          spec: { token, audiences: [audience] },
        },
      });
      const status = review.status;
      if (!status?.authenticated || !status.audiences?.includes(audience)) return undefined;
      const m = SA_USER.exec(status.user?.username ?? '');
      if (!m) return undefined;
      const [, namespace, serviceAccount] = m as unknown as [string, string, string];
      const extra = status.user?.extra ?? {};
      const podName = extra['authentication.kubernetes.io/pod-name']?.[0];
      const podUid = extra['authentication.kubernetes.io/pod-uid']?.[0];
      if (!podName || !podUid) return { namespace, serviceAccount };
      try {
        const pod = await core.readNamespacedPod({ name: podName, namespace });
        if (pod.metadata?.uid !== podUid || !pod.spec?.nodeName) return { namespace, serviceAccount };
        return { namespace, serviceAccount, node: pod.spec.nodeName };
      } catch {
        return { namespace, serviceAccount };
      }
    },
  };
}
