// Unit tests: volume binds for a container.
import type { V1PodSpec } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { hostPathOnMachine, planVolumes } from './volume-plan.ts';

const spec: V1PodSpec = {
  containers: [],
  volumes: [
    { name: 'scratch', emptyDir: {} },
    { name: 'cfg', configMap: { name: 'app-config' } },
    { name: 'tls', secret: { secretName: 'tls' } },
    { name: 'kube-api-access-x1', projected: { sources: [] } },
    { name: 'info', downwardAPI: { items: [] } },
    { name: 'sock', hostPath: { path: '/var/run/ztunnel', type: 'DirectoryOrCreate' } },
    { name: 'claim', persistentVolumeClaim: { claimName: 'data' } },
  ],
};
const layout = { podDir: '/k/pods/u1', hostPathRoot: '/k/node0/root' };

describe('planVolumes', () => {
  it('maps each volumeMount to its host dir; API-data volumes are read-only whatever the mount says', () => {
    const mounts = planVolumes(
      spec,
      {
        name: 'app',
        volumeMounts: [
          { name: 'scratch', mountPath: '/tmp/work/' },
          { name: 'cfg', mountPath: '/etc/app', readOnly: false },
          { name: 'tls', mountPath: '/etc/tls/tls.crt', subPath: 'tls.crt' },
          { name: 'kube-api-access-x1', mountPath: '/var/run/secrets/kubernetes.io/serviceaccount' },
          { name: 'info', mountPath: '/etc/podinfo' },
          { name: 'sock', mountPath: '/var/run/ztunnel' },
          { name: 'scratch', mountPath: '/ro', readOnly: true },
        ],
      },
      layout,
    );
    expect(mounts.map((m) => [m.hostPath, m.mountPath, m.readOnly])).toEqual([
      ['/k/pods/u1/volumes/kubernetes.io~empty-dir/scratch', '/tmp/work/', false],
      ['/k/pods/u1/volumes/kubernetes.io~configmap/cfg', '/etc/app', true],
      ['/k/pods/u1/volumes/kubernetes.io~secret/tls/tls.crt', '/etc/tls/tls.crt', true],
      [
        '/k/pods/u1/volumes/kubernetes.io~projected/kube-api-access-x1',
        '/var/run/secrets/kubernetes.io/serviceaccount',
        true,
      ],
      ['/k/pods/u1/volumes/kubernetes.io~downward-api/info', '/etc/podinfo', true],
      ['/k/node0/root/var/run/ztunnel', '/var/run/ztunnel', false],
      ['/k/pods/u1/volumes/kubernetes.io~empty-dir/scratch', '/ro', true],
    ]);
    expect(mounts[2]).toMatchObject({
      subPath: 'tls.crt',
      volumeDir: '/k/pods/u1/volumes/kubernetes.io~secret/tls',
    });
  });

  it('expands subPathExpr with the container env and refuses unset variables', () => {
    const c = {
      name: 'app',
      volumeMounts: [{ name: 'scratch', mountPath: '/logs', subPathExpr: 'logs/$(POD_NAME)' }],
    };
    expect(planVolumes(spec, c, layout, [{ name: 'POD_NAME', value: 'web-0' }])[0]?.hostPath).toBe(
      '/k/pods/u1/volumes/kubernetes.io~empty-dir/scratch/logs/web-0',
    );
    expect(() => planVolumes(spec, c, layout)).toThrow(/subPathExpr misses POD_NAME/);
  });

  it.each([
    [{ name: 'nope', mountPath: '/x' }, 'ERR_VOLUME_NOT_FOUND'],
    [{ name: 'claim', mountPath: '/x' }, 'ERR_VOLUME_UNSUPPORTED'],
    [{ name: 'scratch', mountPath: '/x', subPath: '../escape' }, 'ERR_VOLUME_INVALID_PATH'],
    [{ name: 'scratch', mountPath: '/x', subPath: '/abs' }, 'ERR_VOLUME_INVALID_PATH'],
  ])('rejects %j with %s', (mount, code) => {
    expect(() => planVolumes(spec, { name: 'app', volumeMounts: [mount] }, layout)).toThrow(
      expect.objectContaining({ code }),
    );
  });

  it('needs a node root for hostPath', () => {
    const c = { name: 'app', volumeMounts: [{ name: 'sock', mountPath: '/s' }] };
    expect(() => planVolumes(spec, c, { podDir: '/p' })).toThrow(
      expect.objectContaining({ code: 'ERR_VOLUME_UNSUPPORTED' }),
    );
  });

  it('resolves hostPaths at or below a shared path to the machine path, others under the node root', () => {
    const shared = { ...layout, hostPathShared: ['/var/run/netns', '/proc'] };
    expect(hostPathOnMachine('/var/run/netns', shared)).toBe('/var/run/netns');
    expect(hostPathOnMachine('var/run/netns/../netns/x', shared)).toBe('/var/run/netns/x');
    expect(hostPathOnMachine('/proc', shared)).toBe('/proc');
    expect(hostPathOnMachine('/var/run/netnsx', shared)).toBe('/k/node0/root/var/run/netnsx');
    expect(hostPathOnMachine('/var/run/ambit', shared)).toBe('/k/node0/root/var/run/ambit');
    expect(hostPathOnMachine('/proc', { podDir: '/p', hostPathShared: ['/proc'] })).toBe('/proc');
  });
});
