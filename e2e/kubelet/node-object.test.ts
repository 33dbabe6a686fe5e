// Unit tests: the Node and Lease a kubelet registers, and the API time formats.
import { describe, expect, it } from 'vitest';
import { apiTime, microTime } from './api-time.ts';
import {
  DEFAULT_CAPACITY,
  leaseManifest,
  leaseRenewal,
  nodeManifest,
  type NodeFacts,
} from './node-object.ts';

const FACTS: NodeFacts = {
  nodeName: 'n1',
  nodeIP: '172.30.0.10',
  capacity: DEFAULT_CAPACITY,
  machineID: 'm',
  systemUUID: 's',
  bootID: 'b',
  kernelVersion: '6.1.0',
  osImage: 'Debian GNU/Linux 12 (bookworm)',
};
const T = Date.UTC(2026, 4, 6, 7, 8, 9, 123);

describe('nodeManifest', () => {
  const node = nodeManifest(FACTS, T - 1_000, T);

  it('labels the node as a kubelet may under NodeRestriction', () => {
    expect(node.metadata?.labels).toMatchObject({
      'kubernetes.io/hostname': 'n1',
      'kubernetes.io/os': 'linux',
      'kubernetes.io/arch': 'amd64',
    });
  });

  it('reports capacity, readiness, addresses, versions and the kubelet port', () => {
    expect(node.status).toMatchObject({
      capacity: { cpu: '4', memory: '16Gi', pods: '110' },
      allocatable: { cpu: '4', memory: '16Gi', pods: '110' },
      addresses: [
        { type: 'InternalIP', address: '172.30.0.10' },
        { type: 'Hostname', address: 'n1' },
      ],
      daemonEndpoints: { kubeletEndpoint: { Port: 10250 } },
      nodeInfo: {
        kubeletVersion: 'v1.34.4',
        containerRuntimeVersion: 'ambit-box://0.1',
        operatingSystem: 'linux',
      },
    });
    const conditions = (node.status?.conditions ?? []).map((c) => [c.type, c.status, c.reason]);
    expect(conditions).toEqual([
      ['MemoryPressure', 'False', 'KubeletHasSufficientMemory'],
      ['DiskPressure', 'False', 'KubeletHasNoDiskPressure'],
      ['PIDPressure', 'False', 'KubeletHasSufficientPID'],
      ['Ready', 'True', 'KubeletReady'],
    ]);
    expect(node.status?.conditions?.[3]).toMatchObject({
      lastHeartbeatTime: '2026-05-06T07:08:09Z',
      lastTransitionTime: '2026-05-06T07:08:08Z',
    });
  });
});

describe('Lease', () => {
  it('is owned by the Node and renewed with a MicroTime', () => {
    expect(leaseManifest('n1', 'uid-1', T)).toMatchObject({
      metadata: {
        name: 'n1',
        namespace: 'kube-node-lease',
        ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name: 'n1', uid: 'uid-1' }],
      },
      spec: { holderIdentity: 'n1', leaseDurationSeconds: 40, renewTime: '2026-05-06T07:08:09.123000Z' },
    });
    expect(leaseRenewal('n1', T + 10_000)).toEqual({
      spec: { holderIdentity: 'n1', leaseDurationSeconds: 40, renewTime: '2026-05-06T07:08:19.123000Z' },
    });
  });
});

describe('API times', () => {
  it('drops sub-seconds from metav1.Time and keeps six digits in MicroTime', () => {
    expect(apiTime(T)).toBe('2026-05-06T07:08:09Z');
    expect(microTime(T)).toBe('2026-05-06T07:08:09.123000Z');
    expect(microTime(T + 0.456)).toBe('2026-05-06T07:08:09.123456Z');
  });
});
