import { describe, expect, it } from 'vitest';
import { parseSettings } from './settings.ts';

const BASE = {
  WAYPOINT_NAME: 'waypoint',
  POD_NAMESPACE: 'bookinfo',
  CONTROL_PLANE_ADDRESS: 'ambit.ambit-system:15010',
};

describe('parseSettings', () => {
  it('derives the identity from the Gateway name and namespace, with the default ports', () => {
    const s = parseSettings(BASE);
    expect(s.identity).toBe('spiffe://cluster.local/ns/bookinfo/sa/waypoint');
    expect(s.ports).toEqual({
      hbone: 15008,
      upstreamHbone: 15008,
      admin: 15000,
      metrics: 15020,
      health: 15021,
    });
    expect(s.drainMs).toBe(25_000);
  });

  it('takes overrides', () => {
    const s = parseSettings({
      ...BASE,
      TRUST_DOMAIN: 'example.org',
      HBONE_PORT: '16008',
      DRAIN_SECONDS: '1',
    });
    expect(s.identity).toBe('spiffe://example.org/ns/bookinfo/sa/waypoint');
    expect(s.ports.hbone).toBe(16008);
    expect(s.drainMs).toBe(1000);
  });

  it.each([
    [{ ...BASE, WAYPOINT_NAME: '' }, 'WAYPOINT_NAME is required'],
    [{ WAYPOINT_NAME: 'w', POD_NAMESPACE: 'n' }, 'set CONTROL_PLANE_ADDRESS'],
    [{ ...BASE, CONTROL_PLANE_ADDRESS: 'nope' }, 'is not host:port'],
    [{ ...BASE, ADMIN_PORT: '70000' }, 'is not a port'],
    [{ ...BASE, DRAIN_SECONDS: '-1' }, 'DRAIN_SECONDS'],
  ])('refuses %j', (env, message) => {
    expect(() => parseSettings(env)).toThrow(message);
  });
});
