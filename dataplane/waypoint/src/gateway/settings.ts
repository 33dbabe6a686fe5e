// The ingress gateway's settings, parsed once from the environment into one typed object (STYLE §14). The
// Deployment (operator/src/render/ingress-gateway.ts) sets GATEWAY_NAME and GATEWAY_CLASS besides what every proxy
// gets; LOCAL_CONFIG_PATH replaces the control plane with a file, as for the waypoint.
import {
  ADMIN_PORT,
  HEALTH_PORT,
  METRICS_PORT,
  parseProxySettings,
  portSetting,
  settingsError,
  UPSTREAM_HBONE_PORT,
  type ProxySettings,
} from '../config/settings.ts';

export const GATEWAY_NAME = 'GATEWAY_NAME';
export const GATEWAY_CLASS = 'GATEWAY_CLASS';
/** The address every listener binds. @default 0.0.0.0 */
export const LISTEN_ADDRESS = 'LISTEN_ADDRESS';

export interface GatewaySettings extends ProxySettings {
  /** The Gateway object's name (what `Hello.gateway` and the route tables name, with the namespace). */
  readonly name: string;
  readonly gatewayClass: string;
  /** `<gateway>-<class>`: its Deployment, Service and ServiceAccount (Istio's naming). */
  readonly proxyName: string;
  /** `spiffe://<trust domain>/ns/<namespace>/sa/<gateway>-<class>`. */
  readonly identity: string;
  readonly listenAddress: string;
  readonly ports: {
    readonly upstreamHbone: number;
    readonly admin: number;
    readonly metrics: number;
    readonly health: number;
  };
}

export function parseGatewaySettings(env: Readonly<Record<string, string | undefined>>): GatewaySettings {
  const name = env[GATEWAY_NAME] || settingsError(`${GATEWAY_NAME} is required (the Gateway's name)`);
  const gatewayClass =
    env[GATEWAY_CLASS] || settingsError(`${GATEWAY_CLASS} is required (the Gateway's gatewayClassName)`);
  const common = parseProxySettings(env);
  const proxyName = `${name}-${gatewayClass}`;
  return {
    name,
    gatewayClass,
    proxyName,
    ...common,
    identity: `spiffe://${common.trustDomain}/ns/${common.namespace}/sa/${proxyName}`,
    listenAddress: env[LISTEN_ADDRESS] || '0.0.0.0',
    ports: {
      upstreamHbone: portSetting(env, UPSTREAM_HBONE_PORT, 15008),
      admin: portSetting(env, ADMIN_PORT, 15000),
      metrics: portSetting(env, METRICS_PORT, 15020),
      health: portSetting(env, HEALTH_PORT, 15021),
    },
  };
}
