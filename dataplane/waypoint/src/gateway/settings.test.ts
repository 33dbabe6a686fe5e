import { describe, expect, it } from 'vitest';
import { parseGatewaySettings } from './settings.ts';

const BASE = {
  GATEWAY_NAME: 'bookinfo-gateway',
  GATEWAY_CLASS: 'istio',
  POD_NAMESPACE: 'default',
  CONTROL_PLANE_ADDRESS: 'ambit.ambit-system:15010',
};

describe('parseGatewaySettings', () => {
  it('names the proxy <gateway>-<class> and derives its identity from that service account', () => {
    const s = parseGatewaySettings(BASE);
    expect(s.proxyName).toBe('bookinfo-gateway-istio');
    expect(s.identity).toBe('spiffe://cluster.local/ns/default/sa/bookinfo-gateway-istio');
    expect(s.listenAddress).toBe('0.0.0.0');
    expect(s.ports).toEqual({ upstreamHbone: 15008, admin: 15000, metrics: 15020, health: 15021 });
    expect(s.drainMs).toBe(25_000);
    expect(s.credentialsDir).toBe('/var/run/secrets/ambit');
  });

  it('takes a config file instead of a control plane, and overrides', () => {
    const s = parseGatewaySettings({
      GATEWAY_NAME: 'gw',
      GATEWAY_CLASS: 'ambit',
      POD_NAMESPACE: 'ingress',
      LOCAL_CONFIG_PATH: '/etc/ambit/config.json',
      TRUST_DOMAIN: 'example.org',
      LISTEN_ADDRESS: '127.0.0.1',
      UPSTREAM_HBONE_PORT: '16008',
    });
    expect(s.identity).toBe('spiffe://example.org/ns/ingress/sa/gw-ambit');
    expect(s.localConfigPath).toBe('/etc/ambit/config.json');
    expect(s.controlPlane).toBeUndefined();
    expect(s.listenAddress).toBe('127.0.0.1');
    expect(s.ports.upstreamHbone).toBe(16008);
  });

  it.each([
    [{ ...BASE, GATEWAY_NAME: '' }, 'GATEWAY_NAME is required'],
    [{ ...BASE, GATEWAY_CLASS: undefined }, 'GATEWAY_CLASS is required'],
    [{ ...BASE, POD_NAMESPACE: undefined }, 'POD_NAMESPACE is required'],
    [{ GATEWAY_NAME: 'g', GATEWAY_CLASS: 'istio', POD_NAMESPACE: 'n' }, 'set CONTROL_PLANE_ADDRESS'],
    [{ ...BASE, METRICS_PORT: 'x' }, 'is not a port'],
  ])('refuses %j', (env, message) => {
    expect(() => parseGatewaySettings(env)).toThrow(message);
  });
});
