import type { Gateway, ReferenceGrant } from '@ambit/codegen/crds';
import type { V1Service } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { ingressGateway } from '../render/testing/fixtures.ts';
import { ingressGatewayStatus, type IngressStatusInputs } from './ingress-gateway-status.ts';

const NOW = new Date('2026-11-23T12:00:00Z');
const lb = (ip?: string): V1Service => ({
  spec: { type: 'LoadBalancer', clusterIP: '10.96.0.50' },
  status: { loadBalancer: { ingress: ip ? [{ ip }] : [] } },
});

function status(gw: Gateway, over: Partial<IngressStatusInputs> = {}) {
  return ingressGatewayStatus({
    gateway: gw,
    admission: { admitted: true },
    service: lb('172.30.0.200'),
    referenceGrants: [],
    attachedRoutes: () => 2,
    now: NOW,
    ...over,
  });
}
const cond = (list: { type: string; status: string; reason: string }[], type: string) =>
  list.find((c) => c.type === type);
type Listener = Gateway['spec']['listeners'][number];
const withListeners = (listeners: Listener[]) => ingressGateway('g', 'default', { listeners });

describe('ingressGatewayStatus', () => {
  it('is Accepted and Programmed with the load balancer address once the Service has one', () => {
    const s = status(ingressGateway());
    expect(cond(s.conditions, 'Accepted')).toMatchObject({ status: 'True', reason: 'Accepted' });
    expect(cond(s.conditions, 'Programmed')).toMatchObject({ status: 'True', reason: 'Programmed' });
    expect(s.addresses).toEqual([{ type: 'IPAddress', value: '172.30.0.200' }]);
    expect(s.listeners).toHaveLength(1);
    expect(s.listeners[0]).toMatchObject({
      name: 'http',
      attachedRoutes: 2,
      supportedKinds: [
        { group: 'gateway.networking.k8s.io', kind: 'HTTPRoute' },
        { group: 'gateway.networking.k8s.io', kind: 'GRPCRoute' },
      ],
    });
    for (const type of ['Accepted', 'ResolvedRefs', 'Programmed'])
      expect(cond(s.listeners[0]!.conditions, type)?.status).toBe('True');
    expect(cond(s.listeners[0]!.conditions, 'Conflicted')).toMatchObject({
      status: 'False',
      reason: 'NoConflicts',
    });
  });

  it('waits for the load balancer address (AddressNotAssigned); a ClusterIP Service is programmed at once', () => {
    const waiting = status(ingressGateway(), { service: lb() });
    expect(cond(waiting.conditions, 'Programmed')).toMatchObject({
      status: 'False',
      reason: 'AddressNotAssigned',
    });
    expect(waiting.addresses).toBeUndefined();
    const clusterIp = status(ingressGateway(), {
      service: { spec: { type: 'ClusterIP', clusterIP: '10.96.0.9' } },
    });
    expect(clusterIp.addresses).toEqual([{ type: 'IPAddress', value: '10.96.0.9' }]);
  });

  it('reports a refused Gateway (namespace not allowed) with the admission reason, and no address', () => {
    const s = status(ingressGateway(), {
      admission: { admitted: false, reason: 'NotAllowed', message: 'namespace "default" is not allowed' },
    });
    expect(cond(s.conditions, 'Accepted')).toMatchObject({ status: 'False', reason: 'NotAllowed' });
    expect(cond(s.conditions, 'Programmed')).toMatchObject({ status: 'False', reason: 'Invalid' });
    expect(s.addresses).toBeUndefined();
  });

  it('refuses a listener of an unsupported protocol alone; with no valid listener left, the Gateway too', () => {
    const mixed = status(
      withListeners([
        { name: 'http', port: 80, protocol: 'HTTP' },
        { name: 'udp', port: 53, protocol: 'UDP' },
      ]),
    );
    expect(cond(mixed.conditions, 'Accepted')?.status).toBe('True');
    const udp = mixed.listeners.find((l) => l.name === 'udp')!;
    expect(cond(udp.conditions, 'Accepted')).toMatchObject({
      status: 'False',
      reason: 'UnsupportedProtocol',
    });
    expect(udp.attachedRoutes).toBe(0);
    expect(udp.supportedKinds).toEqual([]);
    const none = status(withListeners([{ name: 'tcp', port: 9000, protocol: 'TCP' }]));
    expect(cond(none.conditions, 'Accepted')).toMatchObject({ status: 'False', reason: 'ListenersNotValid' });
  });

  it('marks conflicting listeners: another protocol on the port, or the same hostname', () => {
    const s = status(
      withListeners([
        { name: 'a', port: 80, protocol: 'HTTP' },
        { name: 'b', port: 80, protocol: 'HTTPS', tls: { certificateRefs: [{ name: 'c' }] } },
        { name: 'c', port: 8080, protocol: 'HTTP', hostname: 'x.example' },
        { name: 'd', port: 8080, protocol: 'HTTP', hostname: 'x.example' },
        { name: 'e', port: 8080, protocol: 'HTTP', hostname: 'y.example' },
      ]),
    );
    const reason = (name: string) => cond(s.listeners.find((l) => l.name === name)!.conditions, 'Conflicted');
    expect(reason('a')).toMatchObject({ status: 'True', reason: 'ProtocolConflict' });
    expect(reason('b')).toMatchObject({ status: 'True', reason: 'ProtocolConflict' });
    expect(reason('c')).toMatchObject({ status: 'True', reason: 'HostnameConflict' });
    expect(reason('d')).toMatchObject({ status: 'True', reason: 'HostnameConflict' });
    expect(reason('e')).toMatchObject({ status: 'False' });
  });

  it('checks HTTPS certificate references: kind, and a ReferenceGrant across namespaces', () => {
    const gw = withListeners([
      { name: 'ok', port: 443, protocol: 'HTTPS', tls: { certificateRefs: [{ name: 'cert' }] } },
      {
        name: 'kind',
        port: 8443,
        protocol: 'HTTPS',
        tls: { certificateRefs: [{ name: 'cert', kind: 'ConfigMap', group: '' }] },
      },
      {
        name: 'cross',
        port: 9443,
        protocol: 'HTTPS',
        tls: { certificateRefs: [{ name: 'cert', namespace: 'certs' }] },
      },
      { name: 'none', port: 10443, protocol: 'HTTPS' },
    ]);
    const resolved = (s: ReturnType<typeof status>, name: string) =>
      cond(s.listeners.find((l) => l.name === name)!.conditions, 'ResolvedRefs');
    const s = status(gw);
    expect(resolved(s, 'ok')?.status).toBe('True');
    expect(resolved(s, 'kind')).toMatchObject({ status: 'False', reason: 'InvalidCertificateRef' });
    expect(resolved(s, 'cross')).toMatchObject({ status: 'False', reason: 'RefNotPermitted' });
    expect(resolved(s, 'none')).toMatchObject({ status: 'False', reason: 'InvalidCertificateRef' });
    const grant: ReferenceGrant = {
      apiVersion: 'gateway.networking.k8s.io/v1beta1',
      kind: 'ReferenceGrant',
      metadata: { name: 'g', namespace: 'certs' },
      spec: {
        from: [{ group: 'gateway.networking.k8s.io', kind: 'Gateway', namespace: 'default' }],
        to: [{ group: '', kind: 'Secret' }],
      },
    };
    expect(resolved(status(gw, { referenceGrants: [grant] }), 'cross')?.status).toBe('True');
  });

  it('lists only the route kinds it serves and says which listed ones it does not', () => {
    const s = status(
      withListeners([
        {
          name: 'http',
          port: 80,
          protocol: 'HTTP',
          allowedRoutes: {
            kinds: [{ kind: 'HTTPRoute' }, { group: 'gateway.networking.k8s.io', kind: 'TCPRoute' }],
          },
        },
      ]),
    );
    const l = s.listeners[0]!;
    expect(l.supportedKinds).toEqual([{ group: 'gateway.networking.k8s.io', kind: 'HTTPRoute' }]);
    expect(cond(l.conditions, 'ResolvedRefs')).toMatchObject({
      status: 'False',
      reason: 'InvalidRouteKinds',
    });
  });

  it('keeps the transition time of a condition whose status did not change', () => {
    const first = status(ingressGateway());
    const later = status(
      { ...ingressGateway(), status: first as Gateway['status'] },
      { now: new Date('2026-11-23T13:00:00Z') },
    );
    expect(cond(later.conditions, 'Programmed')).toEqual(cond(first.conditions, 'Programmed'));
  });
});
