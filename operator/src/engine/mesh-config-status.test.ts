import { describe, expect, it } from 'vitest';
import { enrollmentSummary, meshConfigStatusPatch } from './mesh-config-status.ts';

describe('enrollmentSummary', () => {
  it('counts namespaces labelled ambient (either label) and captured workloads', () => {
    const s = enrollmentSummary(
      [
        { metadata: { name: 'b', labels: { 'istio.io/dataplane-mode': 'ambient' } } },
        { metadata: { name: 'a', labels: { 'ambit.dev/dataplane-mode': 'ambient' } } },
        { metadata: { name: 'c', labels: { 'istio.io/dataplane-mode': 'none' } } },
        { metadata: { name: 'd' } },
      ],
      [{ protocol: 'HBONE' }, { protocol: 'NONE' }, { protocol: 'HBONE' }],
    );
    expect(s).toEqual({ namespaces: ['a', 'b'], workloads: 2 });
  });
});

describe('meshConfigStatusPatch', () => {
  it('writes the enrollment fields only when known', () => {
    const base = { version: 'v1', rejections: [], warnings: [] };
    expect(meshConfigStatusPatch(base)).not.toHaveProperty('workloads');
    expect(meshConfigStatusPatch({ ...base, enrollment: { namespaces: ['a'], workloads: 3 } })).toMatchObject(
      {
        enrolledNamespaces: ['a'],
        workloads: { enrolled: 3 },
      },
    );
  });
});
