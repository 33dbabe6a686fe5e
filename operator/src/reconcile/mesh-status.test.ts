import type { V1DaemonSet } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { meshComponentStatus, type MeshObservation } from './mesh-status.ts';

const now = new Date('2026-11-23T10:00:00.123Z');
function ds(desired: number, ready: number, updated = desired, generation = 1, observed = 1): V1DaemonSet {
  return {
    metadata: { generation },
    status: {
      desiredNumberScheduled: desired,
      numberReady: ready,
      updatedNumberScheduled: updated,
      observedGeneration: observed,
      currentNumberScheduled: desired,
      numberMisscheduled: 0,
    },
  };
}
const base: MeshObservation = {
  generation: 3,
  previousConditions: undefined,
  ztunnel: ds(2, 2),
  nodeAgent: ds(2, 2),
  waypoints: [],
};
const cond = (s: ReturnType<typeof meshComponentStatus>, type: string) =>
  s.conditions.find((c) => c.type === type);

describe('meshComponentStatus', () => {
  it('is Ready and not Progressing when both DaemonSets are rolled out', () => {
    const s = meshComponentStatus(base, now);
    expect(cond(s, 'Ready')).toMatchObject({ status: 'True', observedGeneration: 3 });
    expect(cond(s, 'Progressing')).toMatchObject({ status: 'False', reason: 'RolledOut' });
    expect(cond(s, 'Degraded')).toMatchObject({ status: 'False' });
    expect(s.ztunnels).toEqual({ desired: 2, ready: 2, summary: '2/2' });
    expect(cond(s, 'Ready')?.lastTransitionTime).toBe('2026-11-23T10:00:00Z');
  });

  it('is Progressing while pods of the old template remain or the controller lags', () => {
    expect(cond(meshComponentStatus({ ...base, ztunnel: ds(2, 2, 1) }, now), 'Progressing')?.status).toBe(
      'True',
    );
    expect(cond(meshComponentStatus({ ...base, ztunnel: ds(2, 2, 2, 2, 1) }, now), 'Ready')?.status).toBe(
      'False',
    );
    expect(cond(meshComponentStatus({ ...base, nodeAgent: undefined }, now), 'Ready')?.reason).toBe(
      'ComponentsNotReady',
    );
  });

  it('is Degraded with the violation, and not Ready', () => {
    const s = meshComponentStatus(
      {
        ...base,
        violation: { reason: 'InvalidTrustDomain', message: 'spec.trustDomain "." is not a DNS name' },
      },
      now,
    );
    expect(cond(s, 'Degraded')).toMatchObject({ status: 'True', reason: 'InvalidTrustDomain' });
    expect(cond(s, 'Ready')).toMatchObject({ status: 'False', reason: 'InvalidTrustDomain' });
    expect(cond(s, 'Progressing')).toMatchObject({ status: 'False', reason: 'Blocked' });
  });

  it('keeps the transition time of a condition whose status did not change', () => {
    const first = meshComponentStatus(base, now);
    const later = meshComponentStatus(
      { ...base, previousConditions: first.conditions },
      new Date('2026-11-23T11:00:00Z'),
    );
    expect(later).toEqual(first);
  });

  it('counts ready waypoints', () => {
    const s = meshComponentStatus(
      {
        ...base,
        waypoints: [{ spec: { replicas: 1, selector: {}, template: {} }, status: { readyReplicas: 1 } }, {}],
      },
      now,
    );
    expect(s.waypoints).toEqual({ total: 2, ready: 1, summary: '1/2' });
  });
});
