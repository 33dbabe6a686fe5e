// Unit tests: which ConfigMaps and Secrets a container's environment reads.
import { describe, expect, it } from 'vitest';
import { containerEnvRefs } from './env-refs.ts';

describe('containerEnvRefs', () => {
  it('collects envFrom and valueFrom references once each', () => {
    expect(
      containerEnvRefs({
        envFrom: [{ configMapRef: { name: 'cm1' } }, { secretRef: { name: 's1' } }],
        env: [
          { name: 'A', valueFrom: { configMapKeyRef: { name: 'cm2', key: 'k' } } },
          { name: 'B', valueFrom: { configMapKeyRef: { name: 'cm1', key: 'k' } } },
          { name: 'C', valueFrom: { secretKeyRef: { name: 's2', key: 'k' } } },
          { name: 'D', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
          { name: 'E', value: 'x' },
        ],
      }),
    ).toEqual({ configMaps: ['cm1', 'cm2'], secrets: ['s1', 's2'] });
  });
});
