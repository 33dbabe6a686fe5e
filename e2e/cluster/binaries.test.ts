import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { binariesIn, BUILD_SCRIPT, COMPONENTS, componentsFor } from './binaries.ts';

describe('components', () => {
  it('are what build.sh builds by default', async () => {
    const script = await readFile(BUILD_SCRIPT, 'utf8');
    const list = /^default_components=\(([^)]*)\)$/m.exec(script)?.[1];
    expect(list?.split(/\s+/)).toEqual([...COMPONENTS]);
  });

  it('leave the controller-manager and scheduler out of an apiserver-only control plane', () => {
    expect(componentsFor('apiserver')).toEqual(['etcd', 'kube-apiserver']);
    expect(componentsFor('full')).toEqual([
      'etcd',
      'kube-apiserver',
      'kube-controller-manager',
      'kube-scheduler',
    ]);
  });

  it('live side by side in the bin dir', () => {
    expect(binariesIn('/b')).toEqual({
      dir: '/b',
      etcd: '/b/etcd',
      kubeApiserver: '/b/kube-apiserver',
      kubeControllerManager: '/b/kube-controller-manager',
      kubeScheduler: '/b/kube-scheduler',
    });
  });
});
