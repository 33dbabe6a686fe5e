// Unit tests: container environment resolution as the kubelet does it.
import type { V1ConfigMap, V1Container, V1Pod, V1Secret, V1Service } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { expandCommand, resolveEnv, serviceEnvVars, type EnvFacts } from './env.ts';

const b64 = (s: string): string => Buffer.from(s).toString('base64');

const pod: V1Pod = {
  metadata: {
    name: 'web-0',
    namespace: 'shop',
    uid: 'u-1',
    labels: { app: 'web' },
    annotations: { note: 'hi' },
  },
  spec: { serviceAccountName: 'web', containers: [] },
};

const configMaps: Record<string, V1ConfigMap> = { settings: { data: { MODE: 'fast', LEVEL: '3' } } };
const secrets: Record<string, V1Secret> = {
  creds: { data: { PASSWORD: b64('s3cret'), USER: b64('admin') } },
};

const kubernetesSvc: V1Service = {
  metadata: { name: 'kubernetes', namespace: 'default' },
  spec: { clusterIP: '10.96.0.1', ports: [{ name: 'https', port: 443, protocol: 'TCP' }] },
};
const cartSvc: V1Service = {
  metadata: { name: 'cart-api', namespace: 'shop' },
  spec: { clusterIP: '10.96.3.4', ports: [{ port: 80 }, { name: 'grpc', port: 9090, protocol: 'TCP' }] },
};
const otherNsSvc: V1Service = {
  metadata: { name: 'elsewhere', namespace: 'other' },
  spec: { clusterIP: '10.96.9.9', ports: [{ port: 1 }] },
};

const facts: EnvFacts = {
  nodeName: 'node0',
  hostIP: '172.30.0.10',
  podIP: '10.244.50.2',
  nodeAllocatable: { cpu: '2', memory: '8Gi' },
  configMap: (n) => configMaps[n],
  secret: (n) => secrets[n],
  services: [kubernetesSvc, cartSvc, otherNsSvc],
};

function envOf(c: Partial<V1Container>, p: V1Pod = pod, f: EnvFacts = facts): Record<string, string> {
  return Object.fromEntries(resolveEnv({ name: 'c', ...c }, p, f).map((e) => [e.name, e.value]));
}

describe('resolveEnv', () => {
  it('gives the downward-API variables Ambit pods read', () => {
    const env = envOf({
      env: [
        { name: 'NODE_NAME', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } },
        { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
        { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
        { name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
        { name: 'HOST_IP', valueFrom: { fieldRef: { fieldPath: 'status.hostIP' } } },
        { name: 'SA', valueFrom: { fieldRef: { fieldPath: 'spec.serviceAccountName' } } },
        { name: 'APP', valueFrom: { fieldRef: { fieldPath: "metadata.labels['app']" } } },
        { name: 'IPS', valueFrom: { fieldRef: { fieldPath: 'status.podIPs' } } },
      ],
    });
    expect(env).toMatchObject({
      NODE_NAME: 'node0',
      POD_NAME: 'web-0',
      POD_NAMESPACE: 'shop',
      POD_IP: '10.244.50.2',
      HOST_IP: '172.30.0.10',
      SA: 'web',
      APP: 'web',
      IPS: '10.244.50.2',
    });
  });

  it('takes envFrom first (with prefix), lets env override, expands $(VAR) against earlier vars only', () => {
    const env = envOf({
      envFrom: [{ configMapRef: { name: 'settings' } }, { secretRef: { name: 'creds' }, prefix: 'DB_' }],
      env: [
        { name: 'MODE', value: 'slow' },
        { name: 'URL', value: 'db://$(DB_USER):$(DB_PASSWORD)@$(HOST)/$(LATER)' },
        { name: 'LATER', value: 'x' },
        { name: 'ESCAPED', value: '$$(MODE)' },
        { name: 'SVC', value: '$(CART_API_SERVICE_HOST)' },
      ],
    });
    expect(env.MODE).toBe('slow');
    expect(env.LEVEL).toBe('3');
    expect(env.URL).toBe('db://admin:s3cret@$(HOST)/$(LATER)');
    expect(env.ESCAPED).toBe('$(MODE)');
    expect(env.SVC).toBe('10.96.3.4');
  });

  it('resolves configMapKeyRef and secretKeyRef, skipping optional misses and naming required ones', () => {
    const env = envOf({
      env: [
        { name: 'M', valueFrom: { configMapKeyRef: { name: 'settings', key: 'MODE' } } },
        { name: 'P', valueFrom: { secretKeyRef: { name: 'creds', key: 'PASSWORD' } } },
        { name: 'OPT', valueFrom: { configMapKeyRef: { name: 'nope', key: 'x', optional: true } } },
        { name: 'OPTKEY', valueFrom: { secretKeyRef: { name: 'creds', key: 'nope', optional: true } } },
      ],
      envFrom: [{ configMapRef: { name: 'absent', optional: true } }],
    });
    expect(env).toMatchObject({ M: 'fast', P: 's3cret' });
    expect(env).not.toHaveProperty('OPT');
    expect(env).not.toHaveProperty('OPTKEY');
    expect(() =>
      envOf({ env: [{ name: 'X', valueFrom: { configMapKeyRef: { name: 'nope', key: 'k' } } }] }),
    ).toThrow(/configmap shop\/nope not found/);
    expect(() =>
      envOf({ env: [{ name: 'X', valueFrom: { secretKeyRef: { name: 'creds', key: 'k' } } }] }),
    ).toThrow(/^couldn't find key k in Secret shop\/creds \(env X\)$/);
    expect(() => envOf({ envFrom: [{ secretRef: { name: 'gone' } }] })).toThrow(
      /secret shop\/gone not found/,
    );
  });

  it('gives resource values with divisors, limits falling back to node allocatable', () => {
    const env = envOf({
      resources: { requests: { cpu: '250m', memory: '100Mi' } },
      env: [
        { name: 'REQ_CPU_M', valueFrom: { resourceFieldRef: { resource: 'requests.cpu', divisor: '1m' } } },
        { name: 'REQ_CPU', valueFrom: { resourceFieldRef: { resource: 'requests.cpu' } } },
        {
          name: 'REQ_MEM_MI',
          valueFrom: { resourceFieldRef: { resource: 'requests.memory', divisor: '1Mi' } },
        },
        { name: 'LIM_CPU', valueFrom: { resourceFieldRef: { resource: 'limits.cpu' } } },
        { name: 'LIM_MEM', valueFrom: { resourceFieldRef: { resource: 'limits.memory' } } },
      ],
    });
    expect(env).toMatchObject({
      REQ_CPU_M: '250',
      REQ_CPU: '1',
      REQ_MEM_MI: '100',
      LIM_CPU: '2',
      LIM_MEM: String(8 * 1024 ** 3),
    });
  });

  it('adds the kubernetes service always, namespace services only with service links, never other namespaces', () => {
    const linked = envOf({});
    expect(linked).toMatchObject({
      KUBERNETES_SERVICE_HOST: '10.96.0.1',
      KUBERNETES_SERVICE_PORT: '443',
      KUBERNETES_SERVICE_PORT_HTTPS: '443',
      CART_API_SERVICE_HOST: '10.96.3.4',
    });
    expect(linked).not.toHaveProperty('ELSEWHERE_SERVICE_HOST');
    const unlinked = envOf({}, { ...pod, spec: { containers: [], enableServiceLinks: false } });
    expect(unlinked).toHaveProperty('KUBERNETES_SERVICE_HOST');
    expect(unlinked).not.toHaveProperty('CART_API_SERVICE_HOST');
    expect(envOf({ env: [{ name: 'KUBERNETES_SERVICE_HOST', value: 'mine' }] }).KUBERNETES_SERVICE_HOST).toBe(
      'mine',
    );
  });

  it('rejects an unknown fieldPath', () => {
    expect(() =>
      envOf({ env: [{ name: 'X', valueFrom: { fieldRef: { fieldPath: 'spec.nope' } } }] }),
    ).toThrow(expect.objectContaining({ code: 'ERR_FIELD_UNSUPPORTED' }));
  });
});

describe('serviceEnvVars', () => {
  it('writes the docker-link variables for each port', () => {
    expect(serviceEnvVars(cartSvc)).toEqual([
      { name: 'CART_API_SERVICE_HOST', value: '10.96.3.4' },
      { name: 'CART_API_SERVICE_PORT', value: '80' },
      { name: 'CART_API_SERVICE_PORT_GRPC', value: '9090' },
      { name: 'CART_API_PORT', value: 'tcp://10.96.3.4:80' },
      { name: 'CART_API_PORT_80_TCP', value: 'tcp://10.96.3.4:80' },
      { name: 'CART_API_PORT_80_TCP_PROTO', value: 'tcp' },
      { name: 'CART_API_PORT_80_TCP_PORT', value: '80' },
      { name: 'CART_API_PORT_80_TCP_ADDR', value: '10.96.3.4' },
      { name: 'CART_API_PORT_9090_TCP', value: 'tcp://10.96.3.4:9090' },
      { name: 'CART_API_PORT_9090_TCP_PROTO', value: 'tcp' },
      { name: 'CART_API_PORT_9090_TCP_PORT', value: '9090' },
      { name: 'CART_API_PORT_9090_TCP_ADDR', value: '10.96.3.4' },
    ]);
    expect(
      serviceEnvVars({ metadata: { name: 'h' }, spec: { clusterIP: 'None', ports: [{ port: 1 }] } }),
    ).toEqual([]);
  });
});

describe('expandCommand', () => {
  it('expands command and args against the final environment', () => {
    expect(
      expandCommand({ command: ['/bin/app', '--node=$(NODE)'], args: ['$(MISSING)', '$$(NODE)'] }, [
        { name: 'NODE', value: 'node0' },
      ]),
    ).toEqual({ command: ['/bin/app', '--node=node0'], args: ['$(MISSING)', '$(NODE)'] });
  });
});
