// The one-line message of a failed Kubernetes API call, shared by the CLI and the reconcilers.
import { ApiException } from '@kubernetes/client-node';

/**
 * One line for a failed API call. ApiException's own message spans lines and includes response headers; the
 * apiserver's Status message (e.g. `gateways.gateway.networking.k8s.io "x" not found`) is what a user needs.
 */
export function apiErrorMessage(err: unknown): string {
  if (err instanceof ApiException) {
    const body: unknown = err.body;
    let status: unknown;
    try {
      status = typeof body === 'string' ? JSON.parse(body) : body;
    } catch {
      // Not JSON (a proxy's HTML page, say): fall back to the HTTP code.
    }
    const message = (status as { message?: unknown } | undefined)?.message;
    if (typeof message === 'string' && message) return message;
    // 401 comes without a body: the client's credentials were refused.
    return err.code === 401
      ? 'Unauthorized (HTTP 401): check the kubeconfig credentials'
      : `HTTP ${err.code}`;
  }
  const message = err instanceof Error ? err.message : String(err);
  return message.split('\n')[0] ?? message;
}
