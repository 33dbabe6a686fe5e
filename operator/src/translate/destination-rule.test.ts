// DestinationRule → destination policy: golden YAML pairs for whole objects, targeted asserts for subsets and
// defaults.
import type { DestinationRule } from '@ambit/codegen/crds';
import { describe, expect, it } from 'vitest';
import { translateDestinationRule, type DestinationRuleContext } from './destination-rule.ts';
import { Reason } from './status.ts';
import { bookinfoCluster, expectGolden, goldenCases, readInput } from './testing/istio-networking.ts';

const ctx: DestinationRuleContext = bookinfoCluster();
type Spec = NonNullable<DestinationRule['spec']>;

function dr(spec: Spec, namespace = 'default'): DestinationRule {
  return {
    apiVersion: 'networking.istio.io/v1',
    kind: 'DestinationRule',
    metadata: { name: 'dr', namespace },
    spec,
  };
}

describe('DestinationRule goldens', () => {
  it.each(goldenCases('destination-rule'))('%s', (name) => {
    const objects = readInput<DestinationRule>('destination-rule', name);
    expectGolden(
      'destination-rule',
      name,
      objects.map((o) => translateDestinationRule(o, ctx)),
    );
  });
});

describe('subsets', () => {
  it('selects the workloads whose labels include all of the subset labels', () => {
    const t = translateDestinationRule(
      dr({
        host: 'reviews',
        subsets: [
          { name: 'v2', labels: { version: 'v2' } },
          { name: 'v2-other-app', labels: { version: 'v2', app: 'ratings' } },
          { name: 'everything' },
        ],
      }),
      ctx,
    );
    expect(t.policy?.subsets.map((s) => [s.name, s.workloads])).toEqual([
      ['v2', ['reviews-v2-0', 'reviews-v2-1']],
      ['v2-other-app', []],
      ['everything', ['reviews-v1-0', 'reviews-v2-0', 'reviews-v2-1', 'reviews-v3-0']],
    ]);
  });

  it('selects among the workloads of the Service the host names, in its own namespace', () => {
    const t = translateDestinationRule(
      dr({ host: 'reviews', subsets: [{ name: 'v1', labels: { version: 'v1' } }] }, 'staging'),
      ctx,
    );
    expect(t.policy?.id).toBe('staging/reviews');
    expect(t.policy?.subsets[0]?.workloads).toEqual(['staging-reviews-v1-0']);
  });
});

describe('traffic policy', () => {
  it('fills in Istio defaults for outlier detection', () => {
    const t = translateDestinationRule(dr({ host: 'reviews', trafficPolicy: { outlierDetection: {} } }), ctx);
    expect(t.policy?.trafficPolicy).toEqual({
      outlierDetection: {
        consecutive5xxErrors: 5,
        intervalMs: 10_000,
        baseEjectionTimeMs: 30_000,
        maxEjectionPercent: 10,
      },
    });
  });

  it('reads the deprecated consecutiveErrors when consecutive5xxErrors is absent', () => {
    const t = translateDestinationRule(
      dr({ host: 'reviews', trafficPolicy: { outlierDetection: { consecutiveErrors: 2 } } }),
      ctx,
    );
    expect(t.policy?.trafficPolicy.outlierDetection?.consecutive5xxErrors).toBe(2);
  });

  it('leaves the load balancer to the waypoint default when unset or unsupported, and says so for the latter', () => {
    const unset = translateDestinationRule(
      dr({ host: 'reviews', trafficPolicy: { loadBalancer: { simple: 'UNSPECIFIED' } } }),
      ctx,
    );
    expect(unset.policy?.trafficPolicy).toEqual({});
    expect(unset.status.conditions[0]?.reason).toBe(Reason.Accepted);
    const passthrough = translateDestinationRule(
      dr({ host: 'reviews', trafficPolicy: { loadBalancer: { simple: 'PASSTHROUGH' } } }),
      ctx,
    );
    expect(passthrough.policy?.trafficPolicy).toEqual({});
    expect(passthrough.status.conditions[0]).toMatchObject({
      status: 'True',
      reason: Reason.UnsupportedValue,
    });
  });

  it('names a missing Service as the reason nothing applies', () => {
    const t = translateDestinationRule(dr({ host: 'nowhere' }), ctx);
    expect(t.policy).toBeUndefined();
    expect(t.status.conditions[0]).toMatchObject({ status: 'False', reason: Reason.TargetNotFound });
  });
});
