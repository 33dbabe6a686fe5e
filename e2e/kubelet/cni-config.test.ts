// Unit tests: the pod conflist, CNI_* variables, plugin stdin config, results and errors.
import { describe, expect, it } from 'vitest';
import {
  cniArgs,
  cniEnv,
  conflistFileName,
  nodeViewScript,
  parseCniError,
  parseConflist,
  pickConflistFile,
  parseCniResult,
  pluginStdinConfig,
  podConflist,
  podIPFromResult,
  type CniResult,
} from './cni-config.ts';

const pod = { namespace: 'shop', name: 'cart-0', uid: '7f1c0d2a-0000-4000-8000-000000000001' };

describe('podConflist', () => {
  it('is loopback, a gateway bridge without masquerade, host-local on the pod CIDR, then chained plugins', () => {
    const list = podConflist({
      podCidr: '10.244.50.0/24',
      ipamDataDir: '/w/node0/ipam',
      extraPlugins: [{ type: 'ambit-cni', socket: '/var/run/ambit/cni.sock' }],
    });
    expect(list).toEqual({
      cniVersion: '1.0.0',
      name: 'ambit-podnet',
      plugins: [
        { type: 'loopback' },
        {
          type: 'bridge',
          bridge: 'cni0',
          isGateway: true,
          ipMasq: false,
          hairpinMode: true,
          ipam: {
            type: 'host-local',
            ranges: [[{ subnet: '10.244.50.0/24' }]],
            routes: [{ dst: '0.0.0.0/0' }],
            dataDir: '/w/node0/ipam',
          },
        },
        { type: 'ambit-cni', socket: '/var/run/ambit/cni.sock' },
      ],
    });
  });
});

describe('one plugin invocation', () => {
  const list = podConflist({ podCidr: '10.244.50.0/24', ipamDataDir: '/i' });
  const prev: CniResult = { cniVersion: '1.0.0', ips: [{ address: '10.244.50.2/24' }] };

  it('injects the list name and version, and prevResult only when there is one', () => {
    expect(pluginStdinConfig(list, 0, undefined)).toEqual({
      type: 'loopback',
      name: 'ambit-podnet',
      cniVersion: '1.0.0',
    });
    expect(pluginStdinConfig(list, 1, prev)).toMatchObject({ type: 'bridge', prevResult: prev });
    expect(() => pluginStdinConfig(list, 5, undefined)).toThrow(RangeError);
  });

  it('sets CNI_ARGS as containerd does and the other CNI_* variables', () => {
    expect(cniArgs(pod, 'abc')).toBe(
      'IgnoreUnknown=1;K8S_POD_NAMESPACE=shop;K8S_POD_NAME=cart-0;K8S_POD_INFRA_CONTAINER_ID=abc;' +
        'K8S_POD_UID=7f1c0d2a-0000-4000-8000-000000000001',
    );
    expect(
      cniEnv({
        command: 'DEL',
        containerId: 'abc',
        netnsPath: '/var/run/netns/x',
        ifName: 'eth0',
        args: 'IgnoreUnknown=1',
        cniPath: ['/usr/lib/cni', '/opt/cni/bin'],
      }),
    ).toEqual({
      CNI_COMMAND: 'DEL',
      CNI_CONTAINERID: 'abc',
      CNI_NETNS: '/var/run/netns/x',
      CNI_IFNAME: 'eth0',
      CNI_ARGS: 'IgnoreUnknown=1',
      CNI_PATH: '/usr/lib/cni:/opt/cni/bin',
    });
  });
});

describe('results and errors', () => {
  it('reads the pod IP from the sandbox interface, not the host-side veth', () => {
    const result: CniResult = {
      cniVersion: '1.0.0',
      interfaces: [
        { name: 'cni0', mac: 'aa' },
        { name: 'veth1234', mac: 'bb' },
        { name: 'eth0', mac: 'cc', sandbox: '/var/run/netns/p' },
      ],
      ips: [
        { address: 'fd00::5/64', interface: 2 },
        { address: '10.244.50.7/24', gateway: '10.244.50.1', interface: 2 },
      ],
    };
    expect(podIPFromResult(result, 'eth0')).toBe('10.244.50.7');
    expect(() => podIPFromResult({ cniVersion: '1.0.0', ips: [] }, 'eth0')).toThrow(
      expect.objectContaining({ code: 'ERR_CNI_RESULT' }),
    );
  });

  it('parses empty output as no result and rejects non-JSON', () => {
    expect(parseCniResult('bridge', '')).toBeUndefined();
    expect(() => parseCniResult('bridge', 'oops')).toThrow(
      expect.objectContaining({ code: 'ERR_CNI_RESULT' }),
    );
  });

  it('turns the plugin JSON error into a CniError naming the plugin', () => {
    const err = parseCniError('bridge', 'ADD', {
      stdout: '{"cniVersion":"1.0.0","code":7,"msg":"invalid config","details":"no bridge name"}',
      stderr: '',
      exit: 'exit 1',
    });
    expect(err).toMatchObject({ code: 'ERR_CNI_PLUGIN', plugin: 'bridge', cniCode: 7 });
    expect(err.message).toBe('cni plugin bridge failed ADD (cni code 7): invalid config: no bridge name');
    const crash = parseCniError('ptp', 'DEL', { stdout: '', stderr: 'panic: boom\n', exit: 'exit 2' });
    expect(crash).toMatchObject({ plugin: 'ptp', cniCode: undefined });
    expect(crash.message).toBe('cni plugin ptp failed DEL: panic: boom');
  });
});

describe('the node CNI config directory', () => {
  it('names the pod network to sort first and picks the first conflist as containerd does', () => {
    expect(conflistFileName('ambit-podnet')).toBe('10-ambit-podnet.conflist');
    expect(
      pickConflistFile(['99-x.conflist', '10-ambit-podnet.conflist', '05-a.conf', '.10-ambit.tmp']),
    ).toBe('10-ambit-podnet.conflist');
    expect(pickConflistFile(['.00-tmp.conflist', 'README'])).toBeUndefined();
  });

  it('reads a conflist back, keeping plugin fields, and refuses one the runtime could not run', () => {
    const list = podConflist({
      podCidr: '10.244.1.0/24',
      ipamDataDir: '/ipam',
      extraPlugins: [{ type: 'ambit-cni', eventSocket: '/var/run/ambit/cni.sock' }],
    });
    expect(parseConflist(JSON.stringify(list), 'f')).toEqual(list);
    for (const bad of [
      '{',
      '[]',
      '{"name":"n","plugins":[{"type":"x"}]}',
      '{"cniVersion":"1.0.0","name":"n"}',
    ]) {
      expect(() => parseConflist(bad, 'f')).toThrow(expect.objectContaining({ code: 'ERR_CNI_CONFIG' }));
    }
    const noType = { cniVersion: '1.0.0', name: 'n', plugins: [{ type: '../evil' }] };
    expect(() => parseConflist(JSON.stringify(noType), 'f')).toThrow(/plugins\[0\] needs a type/);
  });

  it("binds the node's own directories for the plugin, covering fresh mount points first, then execs it", () => {
    const script = nodeViewScript(
      { binds: [{ source: "/box/n0/root/var/run/it's", target: '/var/run/ambit' }], tmpfsDirs: ['/run/x'] },
      { mount: '/bin/mount', mkdir: '/bin/mkdir' },
    );
    expect(script.split('\n')).toEqual([
      "'/bin/mount' -t tmpfs -o mode=0755,size=1m ambit-mountpoints '/run/x' || exit 125",
      "'/bin/mkdir' -p '/var/run/ambit' || exit 125",
      `'/bin/mount' --rbind '/box/n0/root/var/run/it'\\''s' '/var/run/ambit' || exit 125`,
      'exec "$@"',
      '',
    ]);
  });
});
