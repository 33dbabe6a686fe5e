// Unit tests: when a Deployment counts as Available, and how its state reads in one line.
import { describe, expect, it } from 'vitest';
import { deploymentAvailable, describeDeployment, type DeploymentJson } from './deployment-ready.ts';

const available = (status: string) => ({ type: 'Available', status, reason: 'MinimumReplicasAvailable' });

const done: DeploymentJson = {
  metadata: { name: 'coredns', generation: 1 },
  spec: { replicas: 1 },
  status: {
    observedGeneration: 1,
    replicas: 1,
    readyReplicas: 1,
    availableReplicas: 1,
    updatedReplicas: 1,
    conditions: [available('True')],
  },
};

describe('deploymentAvailable', () => {
  it('is true once the current generation is rolled out and Available', () => {
    expect(deploymentAvailable(done)).toBe(true);
  });

  it.each<[string, DeploymentJson]>([
    ['a spec the controller has not seen', { ...done, metadata: { name: 'coredns', generation: 2 } }],
    ['Available=False', { ...done, status: { ...done.status, conditions: [available('False')] } }],
    ['no status yet', { metadata: { name: 'coredns', generation: 1 }, spec: { replicas: 1 } }],
    ['fewer available replicas than desired', { ...done, spec: { replicas: 2 } }],
    ['an old replica still serving', { ...done, status: { ...done.status, updatedReplicas: 0 } }],
  ])('is false with %s', (_, d) => {
    expect(deploymentAvailable(d)).toBe(false);
  });
});

describe('describeDeployment', () => {
  it('says how many replicas are ready and what the Available condition says', () => {
    expect(describeDeployment(done, 'coredns')).toBe(
      'coredns: 1/1 ready, 1 available (Available=True MinimumReplicasAvailable)',
    );
    expect(describeDeployment({ metadata: { name: 'x' } }, 'x')).toBe(
      'x: 0/1 ready, 0 available (no Available condition yet)',
    );
    expect(describeDeployment(undefined, 'coredns')).toBe('coredns: not found');
  });
});
