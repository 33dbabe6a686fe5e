// Unit tests: the kube-api-access volume and its injection.
import type { V1PodSpec } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import {
  kubeApiAccessVolume,
  randomSuffix,
  SERVICE_ACCOUNT_MOUNT_PATH,
  withKubeApiAccess,
} from './service-account.ts';

describe('the kube-api-access volume', () => {
  it('is token + kube-root-ca.crt ca.crt + namespace, mode 0644, token for 3607 s', () => {
    expect(kubeApiAccessVolume('kube-api-access-abcde')).toEqual({
      name: 'kube-api-access-abcde',
      projected: {
        defaultMode: 420,
        sources: [
          { serviceAccountToken: { path: 'token', expirationSeconds: 3607 } },
          { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
          {
            downwardAPI: {
              items: [{ path: 'namespace', fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } }],
            },
          },
        ],
      },
    });
  });

  it('is added as admission does: every container without a mount at the path, unless automount is off', () => {
    const spec: V1PodSpec = {
      containers: [
        { name: 'a' },
        { name: 'b', volumeMounts: [{ name: 'own', mountPath: SERVICE_ACCOUNT_MOUNT_PATH }] },
      ],
      initContainers: [{ name: 'i' }],
    };
    const out = withKubeApiAccess(spec, 'xyz12');
    expect(out.volumes?.map((v) => v.name)).toEqual(['kube-api-access-xyz12']);
    expect(out.containers[0]?.volumeMounts).toEqual([
      { name: 'kube-api-access-xyz12', mountPath: SERVICE_ACCOUNT_MOUNT_PATH, readOnly: true },
    ]);
    expect(out.containers[1]?.volumeMounts).toEqual([{ name: 'own', mountPath: SERVICE_ACCOUNT_MOUNT_PATH }]);
    expect(out.initContainers?.[0]?.volumeMounts).toHaveLength(1);
    expect(withKubeApiAccess({ ...spec, automountServiceAccountToken: false })).toEqual({
      ...spec,
      automountServiceAccountToken: false,
    });
  });

  it('uses the apimachinery alphabet for the suffix', () => {
    expect(randomSuffix()).toMatch(/^[bcdfghjklmnpqrstvwxz2456789]{5}$/);
  });
});
