import { describe, expect, it } from 'vitest';
import {
  goArch,
  leaseObject,
  leaseRenewal,
  microTime,
  nodeObject,
  nodeStatus,
  rfc3339,
} from './node-object.ts';

const facts = {
  box: 'abox',
  name: 'node-0',
  ip: '172.30.0.10',
  architecture: 'amd64',
  kernelVersion: '6.18.0',
};
const at = new Date('2026-11-23T15:22:27.824Z');

describe('the Node the box registers', () => {
  it('carries the InternalIP, a Ready condition and allowed labels only', () => {
    const node = nodeObject(facts, at) as {
      metadata: { name: string; labels: Record<string, string> };
      status: { addresses: unknown[]; conditions: { type: string; status: string }[] };
    };
    expect(node.metadata.name).toBe('node-0');
    // NodeRestriction lets a node set kubernetes.io/{hostname,os,arch} and labels outside k8s.io namespaces.
    expect(Object.keys(node.metadata.labels).sort()).toEqual([
      'ambit.dev/registered-by',
      'kubernetes.io/arch',
      'kubernetes.io/hostname',
      'kubernetes.io/os',
    ]);
    expect(node.status.addresses).toEqual([
      { type: 'InternalIP', address: '172.30.0.10' },
      { type: 'Hostname', address: 'node-0' },
    ]);
    expect(node.status.conditions.map((c) => `${c.type}=${c.status}`)).toEqual([
      'MemoryPressure=False',
      'DiskPressure=False',
      'PIDPressure=False',
      'Ready=True',
    ]);
  });

  it('refreshes the heartbeat and keeps the transition time', () => {
    const later = new Date(at.getTime() + 60_000);
    const status = nodeStatus(facts, later, at) as {
      conditions: { lastHeartbeatTime: string; lastTransitionTime: string }[];
    };
    expect(status.conditions[3]).toMatchObject({
      lastHeartbeatTime: '2026-11-23T15:23:27Z',
      lastTransitionTime: '2026-11-23T15:22:27Z',
    });
  });
});

describe('the node lease', () => {
  it('is owned by the Node and renewed with a MicroTime', () => {
    expect(leaseObject('node-0', 'uid-1', at)).toEqual({
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: {
        name: 'node-0',
        namespace: 'kube-node-lease',
        ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name: 'node-0', uid: 'uid-1' }],
      },
      spec: { holderIdentity: 'node-0', leaseDurationSeconds: 40, renewTime: '2026-11-23T15:22:27.824000Z' },
    });
    expect(leaseRenewal(at)).toEqual({ spec: { renewTime: '2026-11-23T15:22:27.824000Z' } });
  });
});

describe('formats', () => {
  it('write times and architectures as Kubernetes does', () => {
    expect(microTime(at)).toBe('2026-11-23T15:22:27.824000Z');
    expect(rfc3339(at)).toBe('2026-11-23T15:22:27Z');
    expect(goArch('x64')).toBe('amd64');
    expect(goArch('arm64')).toBe('arm64');
    expect(goArch('riscv64')).toBe('riscv64');
  });
});
