// renderIngressGateway: Istio's naming (`<gateway>-<class>`), the Service type annotation, ports from listeners, and
// a proxy that may bind 80/443 without capabilities.
import { describe, expect, it } from 'vitest';
import { GATEWAY_NAME_LABEL, OWNER_KIND_LABEL, PROXY_KIND_LABEL } from './contract.ts';
import { RenderError } from './errors.ts';
import {
  gatewayServiceType,
  ingressGatewayObjectKinds,
  renderIngressGateway,
  SERVICE_TYPE_ANNOTATION,
} from './ingress-gateway.ts';
import { toYamlDocuments } from './serialize.ts';
import { at, envValue, FACTS, find, ingressGateway, mesh, podOf } from './testing/fixtures.ts';

const gateway = ingressGateway();
const objects = renderIngressGateway(gateway, mesh(), FACTS);
const deployment = find(objects, 'Deployment', 'bookinfo-gateway-istio');
const service = find(objects, 'Service', 'bookinfo-gateway-istio');
const { pod, container } = podOf(deployment);

describe('renderIngressGateway', () => {
  it('matches the golden file', async () => {
    await expect(toYamlDocuments(objects)).toMatchFileSnapshot('__snapshots__/ingress-gateway.yaml');
  });

  it('names its Deployment, Service and ServiceAccount <gateway>-<class>, owned by the Gateway', () => {
    expect(objects.map((o) => `${o.kind}/${o.metadata.namespace}/${o.metadata.name}`).sort()).toEqual([
      'Deployment/default/bookinfo-gateway-istio',
      'Service/default/bookinfo-gateway-istio',
      'ServiceAccount/default/bookinfo-gateway-istio',
    ]);
    for (const o of objects) {
      expect(o.metadata.labels).toMatchObject({
        [OWNER_KIND_LABEL]: 'Gateway',
        [GATEWAY_NAME_LABEL]: 'bookinfo-gateway',
        [PROXY_KIND_LABEL]: 'gateway',
      });
      expect(o.metadata.ownerReferences?.[0]).toMatchObject({ kind: 'Gateway', name: 'bookinfo-gateway' });
    }
    expect(pod.serviceAccountName).toBe('bookinfo-gateway-istio');
    const kinds = (list: readonly { apiVersion: string; kind: string }[]) =>
      new Set(list.map((k) => `${k.apiVersion} ${k.kind}`));
    expect(kinds(objects)).toEqual(kinds(ingressGatewayObjectKinds));
  });

  it('is a LoadBalancer on the listener ports plus the status port, selecting the gateway pods', () => {
    expect(at(service, 'spec', 'type')).toBe('LoadBalancer');
    expect(at(service, 'spec', 'ports')).toEqual([
      { name: 'http', port: 80, protocol: 'TCP', targetPort: 80 },
      { name: 'status-port', port: 15021, protocol: 'TCP', targetPort: 15021 },
    ]);
    expect(at(service, 'spec', 'selector')).toEqual({ [GATEWAY_NAME_LABEL]: 'bookinfo-gateway' });
    expect(at(deployment, 'spec', 'template', 'metadata', 'labels')).toMatchObject({
      [GATEWAY_NAME_LABEL]: 'bookinfo-gateway',
      'istio.io/dataplane-mode': 'none',
    });
  });

  it('takes the Service type from networking.istio.io/service-type and names a wrong one', () => {
    const clusterIp = ingressGateway('g', 'default', {}, { [SERVICE_TYPE_ANNOTATION]: 'ClusterIP' });
    expect(
      at(find(renderIngressGateway(clusterIp, mesh(), FACTS), 'Service', 'g-istio'), 'spec', 'type'),
    ).toBe('ClusterIP');
    const wrong = ingressGateway('g', 'default', {}, { [SERVICE_TYPE_ANNOTATION]: 'External' });
    const verdict = gatewayServiceType(wrong);
    expect(verdict.ok).toBe(false);
    expect(!verdict.ok && verdict.message).toContain(`metadata.annotations["${SERVICE_TYPE_ANNOTATION}"]`);
    expect(() => renderIngressGateway(wrong, mesh(), FACTS)).toThrow(RenderError);
  });

  it('opens one Service port per distinct listener port', () => {
    const two = ingressGateway('g', 'default', {
      gatewayClassName: 'ambit',
      listeners: [
        { name: 'http', port: 8080, protocol: 'HTTP' },
        { name: 'http-other-host', port: 8080, protocol: 'HTTP', hostname: 'b.example' },
        { name: 'https', port: 8443, protocol: 'HTTPS', tls: { certificateRefs: [{ name: 'cert' }] } },
      ],
    });
    const rendered = renderIngressGateway(two, mesh(), FACTS);
    const ports = at(find(rendered, 'Service', 'g-ambit'), 'spec', 'ports') as { port: number }[];
    expect(ports.map((p) => p.port)).toEqual([8080, 8443, 15021]);
    // Ports above 1024 need no sysctl.
    expect(
      at(podOf(find(rendered, 'Deployment', 'g-ambit')).pod, 'securityContext', 'sysctls'),
    ).toBeUndefined();
  });

  it('runs as the non-root proxy user without capabilities, allowed to bind port 80 by a pod sysctl', () => {
    expect(at(pod, 'securityContext', 'sysctls')).toEqual([
      { name: 'net.ipv4.ip_unprivileged_port_start', value: '0' },
    ]);
    expect(container.securityContext).toMatchObject({ runAsUser: 1337, capabilities: { drop: ['ALL'] } });
    expect(container.image).toBe('registry.example/ambit/gateway:1.2.3');
    expect(envValue(container, 'GATEWAY_NAME')).toBe('bookinfo-gateway');
    expect(envValue(container, 'GATEWAY_CLASS')).toBe('istio');
  });
});
