// The CNI plugin's parsing and output, with the call to the agent faked.
import { describe, expect, it } from 'vitest';
import { CniCode, parseCniArgs, podIPs, runPlugin, type EventPoster } from './cni-plugin.ts';
import { CniEventError, POD_ADDED, POD_DELETED } from './cni-event.ts';

const prevResult = {
  cniVersion: '1.0.0',
  interfaces: [{ name: 'cni0' }, { name: 'eth0', sandbox: '/var/run/netns/kpod-abc' }],
  ips: [{ address: '10.244.1.5/24', gateway: '10.244.1.1', interface: 1 }],
  routes: [{ dst: '0.0.0.0/0' }],
};
const conf = {
  cniVersion: '1.0.0',
  name: 'ambit-podnet',
  type: 'ambit-cni',
  prevResult,
  eventSocket: '/tmp/x.sock',
};
const env = {
  CNI_COMMAND: 'ADD',
  CNI_CONTAINERID: 'c0ffee',
  CNI_NETNS: '/var/run/netns/kpod-abc',
  CNI_IFNAME: 'eth0',
  CNI_ARGS:
    'IgnoreUnknown=1;K8S_POD_NAMESPACE=shop;K8S_POD_NAME=web;K8S_POD_INFRA_CONTAINER_ID=c0ffee;K8S_POD_UID=u-1',
};

function recorder(fail?: Error): { post: EventPoster; calls: unknown[][] } {
  const calls: unknown[][] = [];
  return {
    calls,
    post: (...a) => {
      calls.push(a);
      return fail === undefined ? Promise.resolve({ captured: true }) : Promise.reject(fail);
    },
  };
}

describe('cni plugin', () => {
  it('ADD asks the agent and prints prevResult unchanged', async () => {
    const r = recorder();
    const out = await runPlugin(env, JSON.stringify(conf), r.post);
    expect(out.exitCode).toBe(0);
    expect(JSON.parse(out.stdout)).toEqual(prevResult);
    expect(r.calls).toEqual([
      [
        '/tmp/x.sock',
        POD_ADDED,
        { namespace: 'shop', name: 'web', uid: 'u-1', netns: '/var/run/netns/kpod-abc', ips: ['10.244.1.5'] },
        10_000,
      ],
    ]);
  });

  it('ADD with the agent down is "try again later"; an agent failure is ours (100)', async () => {
    const down = await runPlugin(
      env,
      JSON.stringify(conf),
      recorder(new CniEventError('ERR_CNI_EVENT_UNAVAILABLE', 'ECONNREFUSED')).post,
    );
    expect(down.exitCode).toBe(1);
    expect(JSON.parse(down.stdout)).toEqual({
      cniVersion: '1.0.0',
      code: CniCode.tryAgainLater,
      msg: 'ambit: capture of pod shop/web failed',
      details: 'ECONNREFUSED',
    });
    const failed = await runPlugin(
      env,
      JSON.stringify(conf),
      recorder(new CniEventError('ERR_CNI_EVENT_FAILED', 'x')).post,
    );
    expect(JSON.parse(failed.stdout)).toMatchObject({ code: 100 });
  });

  it('DEL tells the agent best effort and never fails', async () => {
    const r = recorder(new Error('down'));
    const out = await runPlugin({ ...env, CNI_COMMAND: 'DEL' }, JSON.stringify(conf), r.post);
    expect(out).toEqual({ stdout: '', exitCode: 0 });
    expect(r.calls[0]?.[1]).toBe(POD_DELETED);
  });

  it('VERSION and CHECK', async () => {
    const v = await runPlugin({ CNI_COMMAND: 'VERSION' }, '', recorder().post);
    expect(JSON.parse(v.stdout)).toEqual({
      cniVersion: '1.0.0',
      supportedVersions: ['0.3.0', '0.3.1', '0.4.0', '1.0.0'],
    });
    expect(await runPlugin({ ...env, CNI_COMMAND: 'CHECK' }, JSON.stringify(conf), recorder().post)).toEqual({
      stdout: '',
      exitCode: 0,
    });
  });

  it.each([
    ['bad command', { ...env, CNI_COMMAND: 'NOPE' }, conf, CniCode.invalidEnv],
    ['not JSON', env, undefined, CniCode.decodeFailure],
    ['unknown version', env, { ...conf, cniVersion: '9.9.9' }, CniCode.incompatibleVersion],
    ['not chained', env, { ...conf, prevResult: undefined }, CniCode.invalidConfig],
    ['no pod args', { ...env, CNI_ARGS: 'IgnoreUnknown=1' }, conf, CniCode.invalidEnv],
    ['no netns', { ...env, CNI_NETNS: '' }, conf, CniCode.invalidEnv],
  ] as const)('errors as CNI JSON: %s', async (_why, e, c, code) => {
    const out = await runPlugin(e, c === undefined ? 'nope' : JSON.stringify(c), recorder().post);
    expect(out.exitCode).toBe(1);
    expect(JSON.parse(out.stdout)).toMatchObject({ code });
  });

  it('parses CNI_ARGS and result addresses', () => {
    expect(parseCniArgs('A=1;B=x=y;;C')).toEqual(
      new Map([
        ['A', '1'],
        ['B', 'x=y'],
      ]),
    );
    expect(podIPs({ ips: [{ address: '10.0.0.2/16' }, { address: 'fd00::2/64' }, { nope: 1 }] })).toEqual([
      '10.0.0.2',
    ]);
  });
});
