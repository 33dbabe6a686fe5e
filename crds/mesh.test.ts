// The Mesh schema as users meet it: what a valid Mesh defaults to, and how each kind of mistake is reported.
import { describe, expect, it } from 'vitest';
import { validateMesh, type Mesh } from '@ambit/codegen/crds';

function mesh(spec: unknown, name = 'default'): unknown {
  return { apiVersion: 'ambit.dev/v1alpha1', kind: 'Mesh', metadata: { name }, spec };
}

function issues(spec: unknown) {
  const result = validateMesh.validate(mesh(spec));
  if (result.ok) throw new Error('expected the Mesh to be rejected');
  return result.issues;
}

describe('Mesh validation', () => {
  it('defaults an empty spec to a working mesh', () => {
    const result = validateMesh.validate(mesh({}));
    expect(result.ok).toBe(true);
    const spec = (result as { value: Mesh }).value.spec;
    expect(spec.trustDomain).toBe('cluster.local');
    expect(spec.rootNamespace).toBe('istio-system');
    expect(spec.ca).toEqual({ rootCertTTL: '87600h', workloadCertTTL: '24h' });
    expect(spec.ztunnel?.logLevel).toBe('info');
    expect(spec.telemetry).toEqual({
      metrics: { enabled: true },
      accessLog: { enabled: false, format: 'json' },
    });
    expect(spec.waypoints?.allowedNamespaces).toBeUndefined();
  });

  it('accepts every documented field', () => {
    const spec = {
      trustDomain: 'example.org',
      rootNamespace: 'mesh-root',
      imagePullSecrets: [{ name: 'regcred' }],
      ztunnel: {
        image: 'registry.example/ztunnel:1',
        logLevel: 'debug',
        resources: { requests: { cpu: '100m', memory: '64Mi' } },
      },
      nodeAgent: { imagePullPolicy: 'IfNotPresent', resources: { limits: { cpu: 1 } } },
      waypoint: { logLevel: 'warn' },
      gateway: { image: 'registry.example/gateway:1' },
      waypoints: {
        allowedNamespaces: {
          names: ['shop'],
          selector: {
            matchExpressions: [{ key: 'team', operator: 'In', values: ['a'] }],
            matchLabels: { mesh: 'on' },
          },
        },
      },
      ca: { rootCertTTL: '8760h', workloadCertTTL: '1h', rootSecret: { name: 'my-root' } },
      telemetry: { accessLog: { enabled: true, format: 'text' } },
    };
    const result = validateMesh.validate(mesh(spec));
    expect(result.ok ? [] : result.issues).toEqual([]);
  });

  it.each([
    [{ trustDomain: '' }, 'spec.trustDomain', 'must NOT have fewer than 1 characters'],
    [{ trustDomain: 'Cluster Local' }, 'spec.trustDomain', 'must match pattern'],
    [{ rootNamespace: 'Istio_System' }, 'spec.rootNamespace', 'must match pattern'],
    [{ ztunnel: { logLevel: 'verbose' } }, 'spec.ztunnel.logLevel', 'must be one of'],
    [
      { waypoint: { resources: { requests: { memory: 'lots' } } } },
      'spec.waypoint.resources.requests.memory',
      'must match pattern',
    ],
    [{ ca: { workloadCertTTL: '1y' } }, 'spec.ca.workloadCertTTL', 'must match pattern'],
    [
      { ca: { workloadCertTTL: '100000h' } },
      'spec.ca.workloadCertTTL',
      'workloadCertTTL must be shorter than rootCertTTL',
    ],
    [{ ca: { workloadCertTTL: '30s' } }, 'spec.ca.workloadCertTTL', 'workloadCertTTL must be at least 1m'],
    [{ ca: { rootSecret: {} } }, 'spec.ca.rootSecret.name', 'Required value'],
    [
      { waypoints: { allowedNamespaces: {} } },
      'spec.waypoints.allowedNamespaces',
      'set names and/or selector',
    ],
    [
      {
        waypoints: {
          allowedNamespaces: {
            selector: { matchExpressions: [{ key: 'a', operator: 'Exists', values: ['x'] }] },
          },
        },
      },
      'spec.waypoints.allowedNamespaces.selector.matchExpressions[0]',
      'values must be non-empty for In and NotIn',
    ],
    [
      { waypoints: { allowedNamespaces: { names: ['a', 'a'] } } },
      'spec.waypoints.allowedNamespaces.names[1]',
      'duplicate value "a"',
    ],
    [
      { imagePullSecrets: [{ name: 'x' }, { name: 'x' }] },
      'spec.imagePullSecrets[1]',
      'duplicate entry with name="x"',
    ],
    [{ trustdomain: 'typo.example' }, 'spec.trustdomain', 'unknown field'],
  ])('rejects %j naming %s', (spec, field, message) => {
    expect(issues(spec)).toEqual(
      expect.arrayContaining([{ field, message: expect.stringContaining(message) as string }]),
    );
  });

  it('reports every problem at once, in one message naming the Mesh', () => {
    const result = validateMesh.validate(mesh({ trustDomain: '', ztunnel: { logLevel: 'x' } }, 'prod'));
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.error.message).toMatch(/^Mesh "prod" is invalid: /);
      expect(result.error.message).toContain('spec.trustDomain');
      expect(result.error.message).toContain('spec.ztunnel.logLevel');
      expect(result.error.code).toBe('ERR_INVALID_OBJECT');
    }
  });

  it('checks every CEL rule of the Mesh offline (none left to the apiserver alone)', () => {
    expect(validateMesh.uncheckedRules()).toEqual([]);
  });
});
