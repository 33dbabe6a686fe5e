// The operator process's settings, parsed once from the environment into one typed object (STYLE §14).
import { hostname } from 'node:os';
import { COMPONENT_NAMESPACE } from '../render/contract.ts';

/** Set by the Deployment through the downward API. */
export const POD_NAME = 'POD_NAME';
export const POD_NAMESPACE = 'POD_NAMESPACE';
/** Port of /healthz, /readyz and /metrics. */
export const HTTP_PORT = 'HTTP_PORT';
export const CLUSTER_DOMAIN = 'CLUSTER_DOMAIN';
/** Port of the control plane's gRPC (config and CA). */
export const GRPC_PORT = 'GRPC_PORT';
/** Optional: a kubeconfig file instead of the in-cluster service account (local runs, tests). */
export const KUBECONFIG = 'KUBECONFIG';

export interface OperatorConfig {
  /** Unique per replica: the leader-election identity. */
  readonly identity: string;
  /** Where the Lease lives. */
  readonly namespace: string;
  readonly httpPort: number;
  readonly grpcPort: number;
  readonly clusterDomain: string;
  readonly kubeconfig: string | undefined;
}

export class ConfigError extends Error {
  readonly code = 'ERR_OPERATOR_CONFIG';
}

export function parseOperatorConfig(env: Readonly<Record<string, string | undefined>>): OperatorConfig {
  const port = Number(env[HTTP_PORT] ?? '8080');
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new ConfigError(`${HTTP_PORT}=${JSON.stringify(env[HTTP_PORT])} is not a port number`);
  }
  const grpcPort = Number(env[GRPC_PORT] ?? '15010');
  if (!Number.isInteger(grpcPort) || grpcPort < 0 || grpcPort > 65535) {
    throw new ConfigError(`${GRPC_PORT}=${JSON.stringify(env[GRPC_PORT])} is not a port number`);
  }
  const clusterDomain = env[CLUSTER_DOMAIN] ?? 'cluster.local';
  if (!/^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/.test(clusterDomain)) {
    throw new ConfigError(`${CLUSTER_DOMAIN}=${JSON.stringify(clusterDomain)} is not a DNS name`);
  }
  return {
    identity: env[POD_NAME] || `${hostname()}-${process.pid}`,
    namespace: env[POD_NAMESPACE] || COMPONENT_NAMESPACE,
    httpPort: port,
    grpcPort,
    clusterDomain,
    kubeconfig: env[KUBECONFIG] || undefined,
  };
}
