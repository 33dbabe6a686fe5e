import type { V1Node } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { age, boxNodes, nodesWide, table } from './report.ts';

const node = (name: string, ready: string, created: string): V1Node => ({
  metadata: { name, creationTimestamp: new Date(created), labels: { 'kubernetes.io/os': 'linux' } },
  status: {
    conditions: [{ type: 'Ready', status: ready }],
    addresses: [{ type: 'InternalIP', address: '172.30.0.10' }],
    nodeInfo: {
      architecture: 'amd64',
      bootID: '',
      containerRuntimeVersion: 'ambit-box://0.0.0',
      kernelVersion: '6.18.0',
      kubeProxyVersion: '',
      kubeletVersion: 'v1.34.4',
      machineID: '',
      operatingSystem: 'linux',
      osImage: 'ambit box abox',
      systemUUID: '',
    },
  },
});

describe('nodesWide', () => {
  it('prints kubectl get nodes -o wide columns, sorted by name', () => {
    const now = Date.parse('2026-01-01T00:10:00Z');
    const lines = nodesWide(
      [node('node-1', 'Unknown', '2026-01-01T00:09:00Z'), node('node-0', 'True', '2026-01-01T00:00:00Z')],
      now,
    );
    expect(lines).toEqual([
      'NAME     STATUS    ROLES    AGE   VERSION   INTERNAL-IP   EXTERNAL-IP   OS-IMAGE         KERNEL-VERSION   CONTAINER-RUNTIME',
      'node-0   Ready     <none>   10m   v1.34.4   172.30.0.10   <none>        ambit box abox   6.18.0           ambit-box://0.0.0',
      'node-1   Unknown   <none>   60s   v1.34.4   172.30.0.10   <none>        ambit box abox   6.18.0           ambit-box://0.0.0',
    ]);
  });
});

describe('helpers', () => {
  it('shorten ages as kubectl does', () => {
    expect(age(0, 59_000)).toBe('59s');
    expect(age(0, 119_000)).toBe('119s');
    expect(age(0, 3 * 3600_000)).toBe('3h');
    expect(age(0, 72 * 3600_000)).toBe('3d');
  });

  it('align columns and list box nodes', () => {
    expect(
      table([
        ['a', 'bb'],
        ['ccc', 'd'],
      ]),
    ).toEqual(['a     bb', 'ccc   d']);
    const lines = boxNodes(
      [{ name: 'node-0', netns: 'abox-node-0', ip: '172.30.0.10', podCidr: '10.244.0.0/24', root: '/r' }],
      {
        'node-0': 42,
      },
    );
    expect(lines[1]).toBe('node-0   abox-node-0   172.30.0.10   10.244.0.0/24   42');
  });
});
