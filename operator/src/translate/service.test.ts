import type { V1EndpointSlice, V1Service } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { translateService, type ServiceContext } from './service.ts';

const ctx: ServiceContext = {
  clusterDomain: 'cluster.local',
  namespaceLabels: (n) => (n === 'default' ? { 'istio.io/use-waypoint': 'waypoint' } : undefined),
  waypoints: { waypointFor: (r) => (r.name === 'waypoint' ? 'service' : undefined) },
};

function service(spec: V1Service['spec'], labels?: Record<string, string>): V1Service {
  return { metadata: { name: 'reviews', namespace: 'default', labels }, spec };
}

function slice(
  ports: { name: string; port: number }[],
  endpoints: { uid?: string; ready?: boolean }[],
): V1EndpointSlice {
  return {
    addressType: 'IPv4',
    ports,
    endpoints: endpoints.map((e, i) => ({
      addresses: [`10.244.1.${i + 1}`],
      conditions: { ready: e.ready ?? true },
      ...(e.uid ? { targetRef: { kind: 'Pod', uid: e.uid, name: `p${i}` } } : {}),
    })),
  };
}

describe('translateService', () => {
  it('maps ports, VIPs, the namespace waypoint and endpoints by workload', () => {
    const svc = service({
      clusterIP: '10.96.4.5',
      clusterIPs: ['10.96.4.5'],
      ports: [
        { name: 'http', port: 9080, targetPort: 'web' },
        { name: 'metrics', port: 9100, appProtocol: 'http' },
      ],
    });
    const slices = [
      slice(
        [
          { name: 'http', port: 8080 },
          { name: 'metrics', port: 9100 },
        ],
        [{ uid: 'b' }, { uid: 'a', ready: false }, {}],
      ),
    ];
    expect(translateService(svc, slices, ctx)).toEqual({
      kind: 'service',
      waypoint: { kind: 'bound', waypoint: { namespace: 'default', name: 'waypoint' }, via: 'namespace' },
      record: {
        id: 'default/reviews',
        name: 'reviews',
        namespace: 'default',
        hostname: 'reviews.default.svc.cluster.local',
        vips: ['10.96.4.5'],
        ports: [
          { name: 'http', port: 9080, protocol: 'TCP' },
          { name: 'metrics', port: 9100, protocol: 'TCP', appProtocol: 'http' },
        ],
        waypoint: { namespace: 'default', name: 'waypoint' },
        endpoints: [
          { workloadUid: 'a', ports: { 9080: 8080, 9100: 9100 }, ready: false },
          { workloadUid: 'b', ports: { 9080: 8080, 9100: 9100 }, ready: true },
        ],
        source: { group: '', kind: 'Service', namespace: 'default', name: 'reviews' },
      },
    });
  });

  it('gives a headless Service no VIP and honours use-waypoint none', () => {
    const t = translateService(
      service({ clusterIP: 'None', ports: [{ port: 80 }] }, { 'istio.io/use-waypoint': 'none' }),
      [],
      ctx,
    );
    expect(t.kind === 'service' && [t.record.vips, t.record.waypoint]).toEqual([[], undefined]);
  });

  it('says when ingress gateways must use the waypoint too (istio.io/ingress-use-waypoint: "true")', () => {
    const spec = { clusterIP: '10.96.0.7', ports: [{ port: 80 }] };
    const asked = translateService(service(spec, { 'istio.io/ingress-use-waypoint': 'true' }), [], ctx);
    expect(asked.kind === 'service' && asked.record.ingressUseWaypoint).toBe(true);
    const not = translateService(service(spec, { 'istio.io/ingress-use-waypoint': 'false' }), [], ctx);
    expect(not.kind === 'service' && not.record.ingressUseWaypoint).toBeUndefined();
  });

  it('reports ExternalName Services as outside the mesh', () => {
    expect(translateService(service({ type: 'ExternalName', externalName: 'x.example' }), [], ctx).kind).toBe(
      'unsupported',
    );
  });
});
