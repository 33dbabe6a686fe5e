// The waypoint's settings, parsed once from the environment into one typed object (STYLE §14); the ingress gateway's
// (gateway/settings.ts) share `parseProxySettings`. The Deployment
// (operator/src/render/waypoint.ts) sets these; LOCAL_CONFIG_PATH replaces the control plane with a file.
import { WaypointError } from '../errors.ts';

export const WAYPOINT_NAME = 'WAYPOINT_NAME';
export const POD_NAMESPACE = 'POD_NAMESPACE';
export const TRUST_DOMAIN = 'TRUST_DOMAIN';
export const CONTROL_PLANE_ADDRESS = 'CONTROL_PLANE_ADDRESS';
/** The name the control plane's certificate must carry, when CONTROL_PLANE_ADDRESS is not that name. */
export const CONTROL_PLANE_TLS_NAME = 'CONTROL_PLANE_TLS_NAME';
export const CREDENTIALS_DIR = 'CREDENTIALS_DIR';
export const LOCAL_CONFIG_PATH = 'LOCAL_CONFIG_PATH';
export const DRAIN_SECONDS = 'DRAIN_SECONDS';
export const HBONE_PORT = 'HBONE_PORT';
/** The port of the destination ztunnels' HBONE listeners (always 15008 in a cluster; moved only in tests). */
export const UPSTREAM_HBONE_PORT = 'UPSTREAM_HBONE_PORT';
export const ADMIN_PORT = 'ADMIN_PORT';
export const METRICS_PORT = 'METRICS_PORT';
export const HEALTH_PORT = 'HEALTH_PORT';

/** What every L7 proxy of this package (waypoint, ingress gateway) reads the same way. */
export interface ProxySettings {
  readonly namespace: string;
  readonly trustDomain: string;
  readonly controlPlane?: string;
  readonly controlPlaneTlsName?: string;
  readonly localConfigPath?: string;
  /** Projected token (`token`) and mesh root (`root-cert.pem`). */
  readonly credentialsDir: string;
  readonly drainMs: number;
}

export interface WaypointSettings extends ProxySettings {
  /** The Gateway's (and service account's) name. */
  readonly name: string;
  /** `spiffe://<trust domain>/ns/<namespace>/sa/<name>`: the waypoint's service account is named like its Gateway. */
  readonly identity: string;
  readonly ports: {
    readonly hbone: number;
    readonly upstreamHbone: number;
    readonly admin: number;
    readonly metrics: number;
    readonly health: number;
  };
}

export function settingsError(message: string): never {
  throw new WaypointError('ERR_WAYPOINT_SETTINGS', message);
}

/** A port setting, or its default; anything but an integer 0–65535 is refused. */
export function portSetting(
  env: Readonly<Record<string, string | undefined>>,
  key: string,
  def: number,
): number {
  const v = Number(env[key] ?? def);
  if (!Number.isInteger(v) || v < 0 || v > 65535)
    settingsError(`${key}=${JSON.stringify(env[key])} is not a port`);
  return v;
}

/** The settings both proxies share: namespace, trust domain, where config and certificates come from, drain. */
export function parseProxySettings(env: Readonly<Record<string, string | undefined>>): ProxySettings {
  const namespace =
    env[POD_NAMESPACE] || settingsError(`${POD_NAMESPACE} is required (the downward API's namespace)`);
  const trustDomain = env[TRUST_DOMAIN] || 'cluster.local';
  const controlPlane = env[CONTROL_PLANE_ADDRESS] || undefined;
  const localConfigPath = env[LOCAL_CONFIG_PATH] || undefined;
  if (!controlPlane && !localConfigPath) {
    settingsError(`set ${CONTROL_PLANE_ADDRESS} (host:port) or ${LOCAL_CONFIG_PATH} (a config dump file)`);
  }
  if (controlPlane && !/^[^\s:]+:\d{1,5}$/.test(controlPlane)) {
    settingsError(`${CONTROL_PLANE_ADDRESS}=${JSON.stringify(controlPlane)} is not host:port`);
  }
  const drain = Number(env[DRAIN_SECONDS] ?? '25');
  if (!Number.isFinite(drain) || drain < 0) settingsError(`${DRAIN_SECONDS} must be a number of seconds`);
  const tlsName = env[CONTROL_PLANE_TLS_NAME] || undefined;
  return {
    namespace,
    trustDomain,
    ...(controlPlane ? { controlPlane } : {}),
    ...(tlsName ? { controlPlaneTlsName: tlsName } : {}),
    ...(localConfigPath ? { localConfigPath } : {}),
    credentialsDir: env[CREDENTIALS_DIR] ?? '/var/run/secrets/ambit',
    drainMs: drain * 1000,
  };
}

export function parseSettings(env: Readonly<Record<string, string | undefined>>): WaypointSettings {
  const name = env[WAYPOINT_NAME] || settingsError(`${WAYPOINT_NAME} is required (the Gateway's name)`);
  const common = parseProxySettings(env);
  return {
    name,
    ...common,
    identity: `spiffe://${common.trustDomain}/ns/${common.namespace}/sa/${name}`,
    ports: {
      hbone: portSetting(env, HBONE_PORT, 15008),
      upstreamHbone: portSetting(env, UPSTREAM_HBONE_PORT, 15008),
      admin: portSetting(env, ADMIN_PORT, 15000),
      metrics: portSetting(env, METRICS_PORT, 15020),
      health: portSetting(env, HEALTH_PORT, 15021),
    },
  };
}
