import type { V1Pod } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import type { WaypointFor } from './enrollment.ts';
import { translateWorkload, workloadNameOf, type WorkloadContext } from './workload.ts';

function pod(
  over: {
    labels?: Record<string, string>;
    namespace?: string;
    hostNetwork?: boolean;
    ip?: string;
    ready?: boolean;
    phase?: string;
    nodeName?: string | null;
  } = {},
): V1Pod {
  return {
    metadata: {
      name: 'reviews-v1-7d9f8c-abcde',
      namespace: over.namespace ?? 'default',
      uid: 'uid-1',
      labels: over.labels ?? { app: 'reviews', version: 'v1', 'pod-template-hash': '7d9f8c' },
      ownerReferences: [
        { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'reviews-v1-7d9f8c', uid: 'rs', controller: true },
      ],
    },
    spec: {
      containers: [],
      nodeName: over.nodeName === null ? undefined : (over.nodeName ?? 'node-a'),
      serviceAccountName: 'bookinfo-reviews',
      hostNetwork: over.hostNetwork,
    },
    status: {
      phase: over.phase ?? 'Running',
      ...(over.ip === ''
        ? {}
        : { podIP: over.ip ?? '10.244.1.7', podIPs: [{ ip: over.ip ?? '10.244.1.7' }] }),
      conditions: [{ type: 'Ready', status: over.ready === false ? 'False' : 'True' }],
    },
  };
}

function ctx(
  nsLabels: Record<string, Record<string, string>>,
  waypoints: Record<string, WaypointFor> = {},
): WorkloadContext {
  return {
    trustDomain: 'cluster.local',
    namespaceLabels: (n) => nsLabels[n],
    waypoints: { waypointFor: (r) => waypoints[`${r.namespace}/${r.name}`] },
    selectingPolicies: (ns, labels) => (labels.app === 'reviews' ? [`${ns}/reviews-only`] : []),
    mtls: () => ({ mode: 'PERMISSIVE', ports: {} }),
  };
}

const ambient = { default: { 'istio.io/dataplane-mode': 'ambient' } };

describe('translateWorkload', () => {
  it('describes an enrolled pod', () => {
    const t = translateWorkload(pod(), ctx(ambient));
    expect(t).toEqual({
      kind: 'workload',
      waypoint: { kind: 'none' },
      record: {
        uid: 'uid-1',
        name: 'reviews-v1-7d9f8c-abcde',
        namespace: 'default',
        addresses: ['10.244.1.7'],
        node: 'node-a',
        serviceAccount: 'bookinfo-reviews',
        trustDomain: 'cluster.local',
        canonicalName: 'reviews',
        canonicalRevision: 'v1',
        workloadName: 'reviews-v1',
        protocol: 'HBONE',
        mtls: { mode: 'PERMISSIVE', ports: {} },
        authorizationPolicies: ['default/reviews-only'],
        ready: true,
        source: { group: '', kind: 'Pod', namespace: 'default', name: 'reviews-v1-7d9f8c-abcde' },
      },
    });
  });

  it('keeps pods outside the mesh as plain TCP destinations without policies', () => {
    const t = translateWorkload(pod(), ctx({}));
    expect(t.kind === 'workload' && [t.record.protocol, t.record.authorizationPolicies]).toEqual([
      'NONE',
      [],
    ]);
  });

  it('records the waypoint of a pod labelled for a workload waypoint', () => {
    const labels = { app: 'reviews', 'istio.io/use-waypoint': 'wp' };
    const t = translateWorkload(pod({ labels }), ctx(ambient, { 'default/wp': 'workload' }));
    expect(t.kind === 'workload' && t.record.waypoint).toEqual({ namespace: 'default', name: 'wp' });
  });

  it('keeps an unresolved waypoint reference so the dataplane fails closed, and reports it', () => {
    const labels = { app: 'reviews', 'istio.io/use-waypoint': 'missing' };
    const t = translateWorkload(pod({ labels }), ctx(ambient));
    expect(t.kind === 'workload' && t.record.waypoint).toEqual({ namespace: 'default', name: 'missing' });
    expect(t.kind === 'workload' && t.waypoint.kind).toBe('unresolved');
  });

  it.each<[string, Parameters<typeof pod>[0], string]>([
    ['unscheduled', { nodeName: null }, 'not scheduled'],
    ['host network', { hostNetwork: true }, 'host network'],
    ['no IP', { ip: '' }, 'no pod IP yet'],
    ['finished', { phase: 'Succeeded' }, 'phase Succeeded'],
  ])('skips a pod that is %s', (_n, over, reason) => {
    expect(translateWorkload(pod(over), ctx(ambient))).toEqual({ kind: 'skip', reason });
  });

  it('marks an unready pod', () => {
    const t = translateWorkload(pod({ ready: false }), ctx(ambient));
    expect(t.kind === 'workload' && t.record.ready).toBe(false);
  });

  it('prefers Istio canonical labels, then app.kubernetes.io, then app/version, then the workload name', () => {
    const t1 = translateWorkload(
      pod({ labels: { 'service.istio.io/canonical-name': 'c', 'app.kubernetes.io/name': 'k', app: 'a' } }),
      ctx(ambient),
    );
    expect(t1.kind === 'workload' && [t1.record.canonicalName, t1.record.canonicalRevision]).toEqual([
      'c',
      'latest',
    ]);
    const t2 = translateWorkload(pod({ labels: {} }), ctx(ambient));
    expect(t2.kind === 'workload' && t2.record.canonicalName).toBe('reviews-v1-7d9f8c');
  });
});

describe('workloadNameOf', () => {
  it('names a StatefulSet pod after its owner and a bare pod after itself', () => {
    expect(
      workloadNameOf({
        metadata: {
          name: 'db-0',
          ownerReferences: [{ apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'db', uid: 'u' }],
        },
      }),
    ).toBe('db');
    expect(workloadNameOf({ metadata: { name: 'solo' } })).toBe('solo');
  });
});
