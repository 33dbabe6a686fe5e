import type { Gateway, Mesh } from '@ambit/codegen/crds';
import { describe, expect, it } from 'vitest';
import { waypointGatewayStatus } from './gateway-status.ts';
import { admitIngressGateway, admitWaypoint } from './waypoint-admission.ts';

function mesh(waypoints: NonNullable<Mesh['spec']['waypoints']> = {}): Mesh {
  return {
    apiVersion: 'ambit.dev/v1alpha1',
    kind: 'Mesh',
    metadata: { name: 'default' },
    spec: { waypoints },
  };
}
const gw: Gateway = {
  apiVersion: 'gateway.networking.k8s.io/v1',
  kind: 'Gateway',
  metadata: { name: 'waypoint', namespace: 'team-a', generation: 2 },
  spec: { gatewayClassName: 'istio-waypoint', listeners: [{ name: 'mesh', port: 15008, protocol: 'HBONE' }] },
};
const now = new Date('2026-11-23T10:00:00Z');

describe('admitWaypoint', () => {
  it('admits anywhere when allowedNamespaces is unset', () => {
    expect(admitWaypoint(gw, mesh(), {})).toEqual({ admitted: true });
  });

  it('admits by name or by selector, and refuses naming the Mesh field otherwise', () => {
    expect(admitWaypoint(gw, mesh({ allowedNamespaces: { names: ['team-a'] } }), {}).admitted).toBe(true);
    const bySel = mesh({ allowedNamespaces: { selector: { matchLabels: { waypoints: 'yes' } } } });
    expect(admitWaypoint(gw, bySel, { waypoints: 'yes' }).admitted).toBe(true);
    const refused = admitWaypoint(gw, bySel, {});
    expect(refused).toMatchObject({ admitted: false, reason: 'NotAllowed' });
    expect(!refused.admitted && refused.message).toContain('spec.waypoints.allowedNamespaces');
  });

  it('waits for the Mesh, and wants an HBONE listener', () => {
    expect(admitWaypoint(gw, undefined, {})).toMatchObject({ admitted: false, reason: 'Pending' });
    const http = { ...gw, spec: { ...gw.spec, listeners: [{ name: 'http', port: 80, protocol: 'HTTP' }] } };
    expect(admitWaypoint(http, mesh(), {})).toMatchObject({ admitted: false, reason: 'ListenersNotValid' });
  });
});

describe('waypointGatewayStatus', () => {
  it('is Programmed with the Service address once it has a cluster IP', () => {
    const s = waypointGatewayStatus(
      gw,
      { admitted: true },
      { spec: { clusterIP: '10.96.0.40' } },
      'cluster.local',
      now,
    );
    expect(s.conditions?.map((c) => [c.type, c.status, c.reason, c.observedGeneration])).toEqual([
      ['Accepted', 'True', 'Accepted', 2],
      ['Programmed', 'True', 'Programmed', 2],
    ]);
    expect(s.addresses).toEqual([
      { type: 'IPAddress', value: '10.96.0.40' },
      { type: 'Hostname', value: 'waypoint.team-a.svc.cluster.local' },
    ]);
    expect(s.listeners?.[0]).toMatchObject({ name: 'mesh', attachedRoutes: 0, supportedKinds: [] });
  });

  it('is not Programmed before the Service has an address, nor when refused', () => {
    const pending = waypointGatewayStatus(gw, { admitted: true }, undefined, 'cluster.local', now);
    expect(pending.conditions?.[1]).toMatchObject({ status: 'False', reason: 'AddressNotAssigned' });
    expect(pending.addresses).toBeUndefined();
    const refused = waypointGatewayStatus(
      gw,
      { admitted: false, reason: 'NotAllowed', message: 'nope' },
      { spec: { clusterIP: '10.96.0.40' } },
      'cluster.local',
      now,
    );
    expect(refused.conditions?.map((c) => [c.status, c.reason])).toEqual([
      ['False', 'NotAllowed'],
      ['False', 'Invalid'],
    ]);
    expect(refused.addresses).toBeUndefined();
  });
});

describe('admitIngressGateway', () => {
  const ingress: Gateway = {
    ...gw,
    metadata: { name: 'bookinfo-gateway', namespace: 'team-a' },
    spec: { gatewayClassName: 'istio', listeners: [{ name: 'http', port: 80, protocol: 'HTTP' }] },
  };

  it('follows the same allowed namespaces as waypoints, saying gateways', () => {
    expect(admitIngressGateway(ingress, mesh(), {})).toEqual({ admitted: true });
    const refused = admitIngressGateway(ingress, mesh({ allowedNamespaces: { names: ['other'] } }), {});
    expect(refused).toMatchObject({ admitted: false, reason: 'NotAllowed' });
    expect(!refused.admitted && refused.message).toContain('not allowed to run gateways');
    expect(admitIngressGateway(ingress, undefined, {})).toMatchObject({ admitted: false, reason: 'Pending' });
  });

  it('needs no HBONE listener, but a valid Service type annotation', () => {
    const bad = {
      ...ingress,
      metadata: { ...ingress.metadata, annotations: { 'networking.istio.io/service-type': 'Public' } },
    };
    const verdict = admitIngressGateway(bad, mesh(), {});
    expect(verdict).toMatchObject({ admitted: false, reason: 'Invalid' });
    expect(!verdict.admitted && verdict.message).toContain('networking.istio.io/service-type');
  });
});
