// Unit tests: the files of configMap, secret, downwardAPI and projected volumes.
import type { V1ConfigMap, V1Pod, V1Secret, V1Volume } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { kubeApiAccessVolume } from './service-account.ts';
import {
  tokenKey,
  volumePayload,
  volumeRefs,
  type Payload,
  type PayloadFile,
  type VolumeData,
} from './volume-payload.ts';

const b64 = (s: string): string => Buffer.from(s).toString('base64');
const pod: V1Pod = {
  metadata: { name: 'web-0', namespace: 'shop', uid: 'u-1', labels: { b: '2', a: 'x"y' } },
  spec: { containers: [{ name: 'app', resources: { limits: { memory: '64Mi' } } }] },
};
const facts = { nodeName: 'node0', hostIP: '172.30.0.10', podIP: '10.244.50.2' };

function data(
  cms: Record<string, V1ConfigMap>,
  secrets: Record<string, V1Secret> = {},
  tokens: Record<string, string> = {},
): VolumeData {
  return {
    configMaps: new Map(['app', 'kube-root-ca.crt', 'gone'].map((n) => [n, cms[n]])),
    secrets: new Map(['tls', 'gone'].map((n) => [n, secrets[n]])),
    tokens: new Map(Object.entries(tokens)),
  };
}

function files(p: Payload | undefined): Record<string, [string, string]> {
  return Object.fromEntries(
    [...(p ?? new Map<string, PayloadFile>())].map(([k, f]) => [
      k,
      [f.data.toString('utf8'), f.mode.toString(8)],
    ]),
  );
}

const appCm: V1ConfigMap = { data: { 'a.conf': 'A', 'b.conf': 'B' }, binaryData: { 'c.bin': b64('C') } };

describe('volumePayload', () => {
  it('writes every key of a ConfigMap (data and binaryData) with the default mode', () => {
    const v: V1Volume = { name: 'cfg', configMap: { name: 'app' } };
    expect(files(volumePayload(v, pod, data({ app: appCm }), facts))).toEqual({
      'a.conf': ['A', '644'],
      'b.conf': ['B', '644'],
      'c.bin': ['C', '644'],
    });
  });

  it('honours items, paths, item modes and defaultMode', () => {
    const v: V1Volume = {
      name: 'cfg',
      configMap: {
        name: 'app',
        defaultMode: 0o600,
        items: [
          { key: 'a.conf', path: 'sub/x.conf' },
          { key: 'c.bin', path: 'c', mode: 0o400 },
        ],
      },
    };
    expect(files(volumePayload(v, pod, data({ app: appCm }), facts))).toEqual({
      'sub/x.conf': ['A', '600'],
      c: ['C', '400'],
    });
  });

  it('decodes Secrets', () => {
    const v: V1Volume = { name: 't', secret: { secretName: 'tls' } };
    expect(
      files(volumePayload(v, pod, data({}, { tls: { data: { 'tls.key': b64('KEY') } } }), facts)),
    ).toEqual({
      'tls.key': ['KEY', '644'],
    });
  });

  it('gives an optional missing source an empty volume and names a required one', () => {
    const optional: V1Volume = { name: 'o', secret: { secretName: 'gone', optional: true } };
    expect(files(volumePayload(optional, pod, data({}), facts))).toEqual({});
    const required: V1Volume = { name: 'r', configMap: { name: 'gone' } };
    expect(() => volumePayload(required, pod, data({}), facts)).toThrow(
      expect.objectContaining({
        code: 'ERR_VOLUME_SOURCE_MISSING',
        message: 'volume r: configmap shop/gone not found',
      }),
    );
    const missingKey: V1Volume = {
      name: 'k',
      configMap: { name: 'app', items: [{ key: 'zz', path: 'zz' }] },
    };
    expect(() => volumePayload(missingKey, pod, data({ app: appCm }), facts)).toThrow(
      expect.objectContaining({ code: 'ERR_VOLUME_KEY_MISSING' }),
    );
    const optionalKey: V1Volume = {
      name: 'k',
      configMap: {
        name: 'app',
        optional: true,
        items: [
          { key: 'zz', path: 'zz' },
          { key: 'a.conf', path: 'a' },
        ],
      },
    };
    expect(files(volumePayload(optionalKey, pod, data({ app: appCm }), facts))).toEqual({ a: ['A', '644'] });
  });

  it('writes downwardAPI labels sorted and quoted, and resource values', () => {
    const v: V1Volume = {
      name: 'info',
      downwardAPI: {
        items: [
          { path: 'labels', fieldRef: { fieldPath: 'metadata.labels' } },
          { path: 'name', fieldRef: { fieldPath: 'metadata.name' } },
          {
            path: 'mem',
            resourceFieldRef: { containerName: 'app', resource: 'limits.memory', divisor: '1Mi' },
          },
        ],
      },
    };
    expect(files(volumePayload(v, pod, data({}), facts))).toEqual({
      labels: ['a="x\\"y"\nb="2"', '644'],
      name: ['web-0', '644'],
      mem: ['64', '644'],
    });
  });

  it('builds the kube-api-access volume from the token, the root CA and the namespace', () => {
    const v = kubeApiAccessVolume('kube-api-access-abcde');
    expect(volumeRefs(v)).toEqual({
      configMaps: ['kube-root-ca.crt'],
      secrets: [],
      tokens: [{ audience: '', expirationSeconds: 3607 }],
    });
    const d = data(
      { 'kube-root-ca.crt': { data: { 'ca.crt': 'PEM' } } },
      {},
      { [tokenKey({ audience: '', expirationSeconds: 3607 })]: 'jwt' },
    );
    expect(files(volumePayload(v, pod, d, facts))).toEqual({
      token: ['jwt', '644'],
      'ca.crt': ['PEM', '644'],
      namespace: ['shop', '644'],
    });
  });

  it('rejects unsafe item paths and unsupported projected sources', () => {
    const bad: V1Volume = { name: 'b', configMap: { name: 'app', items: [{ key: 'a.conf', path: '../x' }] } };
    expect(() => volumePayload(bad, pod, data({ app: appCm }), facts)).toThrow(
      expect.objectContaining({ code: 'ERR_VOLUME_INVALID_PATH' }),
    );
    const ctb: V1Volume = { name: 'c', projected: { sources: [{ clusterTrustBundle: { path: 'x' } }] } };
    expect(() => volumePayload(ctb, pod, data({}), facts)).toThrow(
      expect.objectContaining({ code: 'ERR_VOLUME_UNSUPPORTED' }),
    );
  });

  it('has no payload for emptyDir', () => {
    expect(volumePayload({ name: 'e', emptyDir: {} }, pod, data({}), facts)).toBeUndefined();
  });
});
