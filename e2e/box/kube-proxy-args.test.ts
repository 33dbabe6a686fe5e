import { describe, expect, it } from 'vitest';
import { flags } from '../cluster/testing/flags.ts';
import { kubeProxyArgs, kubeProxyArgv } from './kube-proxy-args.ts';

const input = {
  kubeconfig: '/w/nodes/node-0/kube-proxy.kubeconfig',
  nodeName: 'node-0',
  nodeIp: '172.30.0.10',
};

describe('kube-proxy flags', () => {
  it('run iptables mode for the node, listening on its IP only', () => {
    const f = flags(kubeProxyArgs(input));
    expect(f.get('--proxy-mode')).toBe('iptables');
    expect(f.get('--hostname-override')).toBe('node-0');
    expect(f.get('--cluster-cidr')).toBe('10.244.0.0/16');
    expect(f.get('--bind-address')).toBe('172.30.0.10');
    expect(f.get('--healthz-bind-address')).toBe('172.30.0.10:10256');
    expect(f.get('--metrics-bind-address')).toBe('172.30.0.10:10249');
    expect(f.get('--nodeport-addresses')).toBe('primary');
    expect(f.get('--kubeconfig')).toBe(input.kubeconfig);
  });

  it('touch nothing host-wide: no conntrack limit, no OOM shield', () => {
    const f = flags(kubeProxyArgs(input));
    expect(f.get('--conntrack-max-per-core')).toBe('0');
    expect(f.get('--oom-score-adj')).toBe('0');
    expect(f.get('--bind-address-hard-fail')).toBe('true');
  });

  it('run under ip netns exec, which execs kube-proxy in place', () => {
    const argv = kubeProxyArgv('/bin/kube-proxy', 'abox-node-0', input);
    expect(argv.slice(0, 5)).toEqual(['ip', 'netns', 'exec', 'abox-node-0', '/bin/kube-proxy']);
  });
});
