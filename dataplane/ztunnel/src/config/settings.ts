// The ztunnel's settings, parsed once from the environment into one typed object (STYLE §14). The Deployment
// (operator/src/render/ztunnel.ts) sets these; LOCAL_CONFIG_PATH replaces the control plane with a file.
export const NODE_NAME = 'NODE_NAME';
export const CONTROL_PLANE_ADDRESS = 'CONTROL_PLANE_ADDRESS';
export const LOCAL_CONFIG_PATH = 'LOCAL_CONFIG_PATH';
export const HANDOVER_SOCKET = 'HANDOVER_SOCKET';
export const CREDENTIALS_DIR = 'CREDENTIALS_DIR';
export const LOG_LEVEL = 'LOG_LEVEL';
export const DRAIN_SECONDS = 'DRAIN_SECONDS';
/** The name the control plane's certificate must carry, when CONTROL_PLANE_ADDRESS is not that name. */
export const CONTROL_PLANE_TLS_NAME = 'CONTROL_PLANE_TLS_NAME';
/** The admin ports (DESIGN §5 defaults); only a ztunnel sharing a netns with another needs to move them. */
export const ADMIN_PORT = 'ADMIN_PORT';
export const METRICS_PORT = 'METRICS_PORT';
export const HEALTH_PORT = 'HEALTH_PORT';
/** Which transport carries the bytes: `native` (the Rust addon, issue 12) or `typescript` (@ambit/hbone). */
export const ZTUNNEL_TRANSPORT = 'ZTUNNEL_TRANSPORT';

export const TRANSPORTS = ['typescript', 'native'] as const;
export type TransportKind = (typeof TRANSPORTS)[number];
/**
 * The transport when ZTUNNEL_TRANSPORT is unset: the process, the two-nodes fixture (tests, benchmarks) and a
 * `Ztunnel` constructed without `transport` all follow it. Issue 12 makes `native` the default.
 */
export const DEFAULT_TRANSPORT: TransportKind = 'typescript';

export interface ZtunnelSettings {
  readonly node: string;
  /** `host:port` of the control plane's gRPC (config + CA); unset with a local config. */
  readonly controlPlane?: string;
  readonly controlPlaneTlsName?: string;
  /** A config dump to serve instead of subscribing. */
  readonly localConfigPath?: string;
  /** The node agent's handover socket. */
  readonly handoverSocket: string;
  /** Projected token (`token`) and mesh root (`root-cert.pem`). */
  readonly credentialsDir: string;
  readonly logLevel: 'trace' | 'debug' | 'info' | 'warn' | 'error';
  /** How long SIGTERM lets connections in flight finish. */
  readonly drainMs: number;
  readonly ports: { readonly admin: number; readonly metrics: number; readonly health: number };
  readonly transport: TransportKind;
}

export class SettingsError extends Error {
  readonly code = 'ERR_ZTUNNEL_SETTINGS';
}

const LEVELS = ['trace', 'debug', 'info', 'warn', 'error'] as const;

/** ZTUNNEL_TRANSPORT, or the default when it is unset or empty. */
export function parseTransport(env: Readonly<Record<string, string | undefined>>): TransportKind {
  const value = env[ZTUNNEL_TRANSPORT] || DEFAULT_TRANSPORT;
  if (!(TRANSPORTS as readonly string[]).includes(value)) {
    throw new SettingsError(
      `${ZTUNNEL_TRANSPORT}=${JSON.stringify(value)} is not one of ${TRANSPORTS.join(', ')}`,
    );
  }
  return value as TransportKind;
}

export function parseSettings(env: Readonly<Record<string, string | undefined>>): ZtunnelSettings {
  const node = env[NODE_NAME];
  if (!node) throw new SettingsError(`${NODE_NAME} is required (the downward API's spec.nodeName)`);
  const controlPlane = env[CONTROL_PLANE_ADDRESS] || undefined;
  const localConfigPath = env[LOCAL_CONFIG_PATH] || undefined;
  if (!controlPlane && !localConfigPath) {
    throw new SettingsError(
      `set ${CONTROL_PLANE_ADDRESS} (host:port) or ${LOCAL_CONFIG_PATH} (a config dump file)`,
    );
  }
  if (controlPlane && !/^[^\s:]+:\d{1,5}$/.test(controlPlane)) {
    throw new SettingsError(`${CONTROL_PLANE_ADDRESS}=${JSON.stringify(controlPlane)} is not host:port`);
  }
  const level = env[LOG_LEVEL] ?? 'info';
  if (!(LEVELS as readonly string[]).includes(level)) {
    throw new SettingsError(`${LOG_LEVEL}=${JSON.stringify(level)} is not one of ${LEVELS.join(', ')}`);
  }
  const port = (key: string, def: number): number => {
    const v = Number(env[key] ?? def);
    if (!Number.isInteger(v) || v < 0 || v > 65535)
      throw new SettingsError(`${key}=${JSON.stringify(env[key])} is not a port`);
    return v;
  };
  const tlsName = env[CONTROL_PLANE_TLS_NAME] || undefined;
  const transport = parseTransport(env);
  const drain = Number(env[DRAIN_SECONDS] ?? '25');
  if (!Number.isFinite(drain) || drain < 0)
    throw new SettingsError(`${DRAIN_SECONDS} must be a number of seconds`);
  return {
    node,
    ...(controlPlane ? { controlPlane } : {}),
    ...(tlsName ? { controlPlaneTlsName: tlsName } : {}),
    ...(localConfigPath ? { localConfigPath } : {}),
    handoverSocket: env[HANDOVER_SOCKET] ?? '/var/run/ambit/ztunnel.sock',
    credentialsDir: env[CREDENTIALS_DIR] ?? '/var/run/secrets/ambit',
    logLevel: level as ZtunnelSettings['logLevel'],
    drainMs: drain * 1000,
    ports: {
      admin: port(ADMIN_PORT, 15000),
      metrics: port(METRICS_PORT, 15020),
      health: port(HEALTH_PORT, 15021),
    },
    transport,
  };
}
