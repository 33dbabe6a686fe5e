// The agent's pure decisions: who is captured, and the steps from what is held to that.
import { describe, expect, it } from 'vitest';
import { desiredCapture, planPod, type PodFacts } from './decide.ts';
import type { PodNetns } from './handover.ts';
import { parseSettings } from './settings.ts';
import { podNetnsName } from './netns-resolver.ts';

const pod: PodFacts = {
  uid: '0b7e5c1a-1111-2222-3333-444455556666',
  namespace: 'shop',
  name: 'web',
  labels: { app: 'web' },
  hostNetwork: false,
  phase: 'Running',
  ips: ['10.244.1.5'],
};
const ambient = { 'istio.io/dataplane-mode': 'ambient' };
const NETNS = '/var/run/netns/kpod-0b7e5c1a1111';
const held: PodNetns = { uid: pod.uid, namespace: 'shop', name: 'web', netns: NETNS, ips: ['10.244.1.5'] };

describe('desiredCapture', () => {
  it('captures an enrolled running pod with an IP and a netns', () => {
    expect(desiredCapture(pod, ambient, NETNS)).toEqual({
      uid: pod.uid,
      namespace: 'shop',
      name: 'web',
      netns: NETNS,
      ips: ['10.244.1.5'],
    });
  });

  it.each([
    ['no pod', undefined, ambient, NETNS],
    ['namespace not enrolled', pod, {}, NETNS],
    ['pod opted out', { ...pod, labels: { 'istio.io/dataplane-mode': 'none' } }, ambient, NETNS],
    ['hostNetwork', { ...pod, hostNetwork: true }, ambient, NETNS],
    ['no IP yet', { ...pod, ips: [] }, ambient, NETNS],
    ['IPv6 only', { ...pod, ips: ['fd00::5'] }, ambient, NETNS],
    ['netns unknown', pod, ambient, undefined],
    ['terminal', { ...pod, phase: 'Succeeded' }, ambient, NETNS],
  ] as const)('does not capture: %s', (_why, p, ns, netns) => {
    expect(desiredCapture(p, ns, netns)).toBeUndefined();
  });

  it('captures a pod enrolled by its own label in a plain namespace', () => {
    expect(
      desiredCapture({ ...pod, labels: { 'ambit.dev/dataplane-mode': 'ambient' } }, {}, NETNS),
    ).toBeDefined();
  });
});

describe('planPod', () => {
  const want = desiredCapture(pod, ambient, NETNS);
  it('captures what is wanted and not held, with a handover', () => {
    expect(planPod(want, undefined, undefined)).toEqual([{ kind: 'capture', pod: want, handover: true }]);
  });
  it('releases what is held and no longer wanted', () => {
    expect(planPod(undefined, { pod: held, rejected: false }, undefined)).toEqual([
      { kind: 'release', pod: held },
    ]);
  });
  it('only re-checks the rules in the steady state, and re-sends add after a NACK or an IP change', () => {
    expect(planPod(want, { pod: held, rejected: false }, undefined)).toEqual([
      { kind: 'capture', pod: want, handover: false },
    ]);
    expect(planPod(want, { pod: held, rejected: true }, undefined)[0]).toMatchObject({ handover: true });
    expect(
      planPod(want, { pod: { ...held, ips: ['10.244.1.9'] }, rejected: false }, undefined)[0],
    ).toMatchObject({
      handover: true,
    });
  });
  it('replaces a pod recreated under the same name', () => {
    const old = { ...held, uid: 'old', netns: '/var/run/netns/kpod-old' };
    expect(planPod(want, { pod: old, rejected: false }, undefined).map((s) => s.kind)).toEqual([
      'release',
      'capture',
    ]);
  });
  it('sweeps a pod seen for the first time that is not captured, and leaves it alone afterwards', () => {
    expect(planPod(undefined, undefined, { netns: NETNS })).toEqual([{ kind: 'sweep', netns: NETNS }]);
    expect(planPod(undefined, undefined, { netns: undefined })).toEqual([]);
    expect(planPod(undefined, undefined, undefined)).toEqual([]);
  });
});

describe('settings and netns names', () => {
  it('parses defaults and requires NODE_NAME', () => {
    expect(parseSettings({ NODE_NAME: 'n1' })).toEqual({
      nodeName: 'n1',
      handoverSocket: '/var/run/ambit/ztunnel.sock',
      cniEventSocket: '/var/run/ambit/cni.sock',
      netnsDir: '/var/run/netns',
      netnsPrefix: 'kpod-',
      hostProcDir: '/proc',
      kubeconfig: undefined,
      healthPort: 15021,
      resyncSeconds: 60,
    });
    expect(() => parseSettings({})).toThrow(expect.objectContaining({ code: 'ERR_SETTINGS' }));
    expect(() => parseSettings({ NODE_NAME: 'n', HEALTH_PORT: 'x' })).toThrow(/HEALTH_PORT/);
    expect(() => parseSettings({ NODE_NAME: 'n', NETNS_DIR: 'rel' })).toThrow(/absolute/);
  });
  it('names netns as the fake kubelet does (sandbox-plan.ts podNetnsName)', () => {
    expect(podNetnsName('kpod-', '0B7E5C1A-1111-2222-3333-444455556666')).toBe('kpod-0b7e5c1a1111');
    expect(podNetnsName('kpod-', 'not-a-uid')).toBeUndefined();
  });
});
