// Unit tests: `kubectl get pods -A -o wide` lines, and the STATUS column kubectl derives from a pod's status.
import type { V1ContainerStatus, V1Pod } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { podStatus, podsWide } from './report-pods.ts';

const container = (name: string, state: V1ContainerStatus['state'], ready = false): V1ContainerStatus => ({
  name,
  image: 'x',
  imageID: '',
  ready,
  restartCount: 0,
  state,
});

const pod = (ns: string, name: string, statuses: V1ContainerStatus[], extra: Partial<V1Pod> = {}): V1Pod => ({
  metadata: { namespace: ns, name, creationTimestamp: new Date('2026-01-01T00:00:00Z') },
  spec: { nodeName: 'node-1', containers: statuses.map((s) => ({ name: s.name })) },
  status: { phase: 'Running', podIP: '10.244.1.2', containerStatuses: statuses },
  ...extra,
});

const running = (name: string): V1ContainerStatus =>
  container(name, { running: { startedAt: new Date('2026-01-01T00:00:01Z') } }, true);

describe('podStatus', () => {
  it('says Running for ready containers, and the waiting or terminated reason otherwise', () => {
    expect(podStatus(pod('d', 'a', [running('c')]))).toBe('Running');
    expect(podStatus(pod('d', 'a', [container('c', { waiting: { reason: 'CrashLoopBackOff' } })]))).toBe(
      'CrashLoopBackOff',
    );
    expect(
      podStatus(pod('d', 'a', [container('c', { terminated: { exitCode: 0, reason: 'Completed' } })])),
    ).toBe('Completed');
    expect(podStatus(pod('d', 'a', [container('c', { terminated: { exitCode: 137, signal: 9 } })]))).toBe(
      'Signal:9',
    );
  });

  it('shows init progress and Terminating', () => {
    const init = pod('d', 'a', [container('c', { waiting: { reason: 'PodInitializing' } })], {
      spec: { containers: [{ name: 'c' }], initContainers: [{ name: 'i0' }, { name: 'i1' }] },
    });
    init.status = {
      ...init.status,
      phase: 'Pending',
      initContainerStatuses: [
        container('i0', { terminated: { exitCode: 0, reason: 'Completed' } }),
        container('i1', { running: {} }),
      ],
    };
    expect(podStatus(init)).toBe('Init:1/2');
    const going = pod('d', 'a', [running('c')]);
    going.metadata = { ...going.metadata, deletionTimestamp: new Date('2026-01-01T00:05:00Z') };
    expect(podStatus(going)).toBe('Terminating');
  });
});

describe('podsWide', () => {
  it('prints kubectl get pods -A -o wide columns, sorted by namespace and name', () => {
    const lines = podsWide(
      [pod('kube-system', 'coredns-abc', [running('coredns')]), pod('default', 'curl', [running('curl')])],
      Date.parse('2026-01-01T00:01:00Z'),
    );
    expect(lines).toEqual([
      'NAMESPACE     NAME          READY   STATUS    RESTARTS   AGE   IP           NODE     NOMINATED NODE   READINESS GATES',
      'default       curl          1/1     Running   0          60s   10.244.1.2   node-1   <none>           <none>',
      'kube-system   coredns-abc   1/1     Running   0          60s   10.244.1.2   node-1   <none>           <none>',
    ]);
  });
});
