// Unit tests: composing a container start from a pod, its sandbox and facts.
import type { V1Pod } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { planContainerStart, podLogPath } from './container-plan.ts';
import { withKubeApiAccess } from './service-account.ts';

const pod: V1Pod = {
  metadata: { name: 'ztunnel-x1', namespace: 'ambit-system', uid: 'u-9' },
  spec: withKubeApiAccess(
    {
      serviceAccountName: 'ztunnel',
      containers: [
        {
          name: 'ztunnel',
          image: 'ambit/ztunnel',
          command: ['node', '/app/ztunnel.js'],
          args: ['--node=$(NODE_NAME)'],
          workingDir: '/app',
          env: [{ name: 'NODE_NAME', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } }],
          volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }],
        },
      ],
      volumes: [{ name: 'tmp', emptyDir: {} }],
    },
    'abcde',
  ),
};
const facts = {
  nodeName: 'node0',
  hostIP: '172.30.0.10',
  podIP: '10.244.50.9',
  configMap: () => undefined,
  secret: () => undefined,
};

describe('planContainerStart', () => {
  it('resolves env, expands args, binds volumes and sets the pod hostname', () => {
    const o = planContainerStart({
      pod,
      container: 'ztunnel',
      sandbox: { netns: 'kpod-1', nodeNetns: 'box-node0', hostNetwork: false, etcMounts: [] },
      layout: { podDir: '/k/pods/u-9' },
      facts,
      logPath: '/k/logs/x.log',
    });
    expect(o).toMatchObject({
      name: 'ambit-system/ztunnel-x1/ztunnel',
      netns: 'kpod-1',
      command: ['node', '/app/ztunnel.js'],
      args: ['--node=node0'],
      env: [{ name: 'NODE_NAME', value: 'node0' }],
      workingDir: '/app',
      hostname: 'ztunnel-x1',
      mounts: [
        { hostPath: '/k/pods/u-9/volumes/kubernetes.io~empty-dir/tmp', mountPath: '/tmp', readOnly: false },
        {
          hostPath: '/k/pods/u-9/volumes/kubernetes.io~projected/kube-api-access-abcde',
          mountPath: '/var/run/secrets/kubernetes.io/serviceaccount',
          readOnly: true,
        },
      ],
    });
  });

  it('adds the sandbox /etc binds and no hostname for hostNetwork pods', () => {
    const etc = [{ hostPath: '/k/pods/u-9/sandbox/hosts', mountPath: '/etc/hosts', readOnly: false }];
    const o = planContainerStart({
      pod,
      container: 'ztunnel',
      sandbox: { netns: null, nodeNetns: 'box-node0', hostNetwork: true, etcMounts: etc },
      layout: { podDir: '/k/pods/u-9' },
      facts,
      logPath: '/l',
    });
    expect(o.netns).toBeNull();
    expect(o.hostname).toBeUndefined();
    expect(o.mounts.at(-1)).toEqual(etc[0]);
  });

  it('names the kubelet log path', () => {
    expect(podLogPath('/var/log/pods', pod, 'ztunnel', 2)).toBe(
      '/var/log/pods/ambit-system_ztunnel-x1_u-9/ztunnel/2.log',
    );
  });

  it('rejects an unknown container', () => {
    expect(() =>
      planContainerStart({
        pod,
        container: 'nope',
        sandbox: { netns: null, nodeNetns: 'n', hostNetwork: true, etcMounts: [] },
        layout: { podDir: '/p' },
        facts,
        logPath: '/l',
      }),
    ).toThrow(expect.objectContaining({ code: 'ERR_CONTAINER_START' }));
  });
});
