import { describe, expect, it } from 'vitest';
import { defaultWorkDir, nodeName, nodeUnderlayIp, planBox, planNodeAgent } from './plan.ts';

describe('planBox', () => {
  it('lays out nodes node-<i> at 172.30.0.(10+i) with their files under the work dir', () => {
    const plan = planBox({ name: 'abox', nodes: 2, workDir: '/w' });
    expect(plan.clusterDir).toBe('/w/cluster');
    expect(plan.nodes).toEqual([
      {
        name: 'node-0',
        index: 0,
        ip: '172.30.0.10',
        dir: '/w/nodes/node-0',
        nodeKubeconfig: '/w/nodes/node-0/node.kubeconfig',
        kubeProxyKubeconfig: '/w/nodes/node-0/kube-proxy.kubeconfig',
        kubeProxyLog: '/w/logs/kube-proxy-node-0.log',
        kubeProxyPidName: 'kube-proxy-node-0',
      },
      expect.objectContaining({ name: 'node-1', ip: '172.30.0.11' }),
    ]);
  });

  it('refuses names that cannot prefix interface names, and node counts out of range', () => {
    for (const name of ['Abox', 'a-box', 'toolongname', '']) {
      expect(() => planBox({ name, nodes: 1, workDir: '/w' })).toThrow(
        expect.objectContaining({ code: 'ERR_BOX_INVALID_OPTION' }),
      );
    }
    for (const nodes of [0, 101, 1.5]) {
      expect(() => planBox({ name: 'abox', nodes, workDir: '/w' })).toThrow(
        expect.objectContaining({ code: 'ERR_BOX_INVALID_OPTION' }),
      );
    }
  });

  it('keeps node addresses below the LoadBalancer pool and the work dir fixed per box name', () => {
    expect(nodeUnderlayIp(99)).toBe('172.30.0.109');
    expect(nodeName(3)).toBe('node-3');
    expect(defaultWorkDir('/root/.cache/ambit', 'abox')).toBe('/root/.cache/ambit/box/abox');
  });
});

describe('planNodeAgent', () => {
  const hook = (): Promise<never> => Promise.reject(new Error('unused'));

  it("runs the box's kubelets and CoreDNS by default", () => {
    expect(planNodeAgent({})).toEqual({ kind: 'kubelet', clusterDns: true, ambit: false });
    expect(planNodeAgent({ kubelets: true, clusterDns: false })).toEqual({
      kind: 'kubelet',
      clusterDns: false,
      ambit: false,
    });
    expect(planNodeAgent({ ambit: true })).toEqual({ kind: 'kubelet', clusterDns: true, ambit: true });
  });

  it('runs a hook without CoreDNS unless asked, and bare Nodes with kubelets: false', () => {
    expect(planNodeAgent({ startNode: hook })).toEqual({ kind: 'hook', clusterDns: false, ambit: false });
    expect(planNodeAgent({ startNode: hook, clusterDns: true })).toEqual({
      kind: 'hook',
      clusterDns: true,
      ambit: false,
    });
    expect(planNodeAgent({ kubelets: false })).toEqual({ kind: 'none', clusterDns: false, ambit: false });
  });

  it('refuses a hook with kubelets: false, cluster DNS without pods, and Ambit without cluster DNS', () => {
    for (const o of [
      { startNode: hook, kubelets: false },
      { kubelets: false, clusterDns: true },
      { kubelets: false, ambit: true },
      { clusterDns: false, ambit: true },
      { startNode: hook, ambit: true },
    ]) {
      expect(() => planNodeAgent(o)).toThrow(expect.objectContaining({ code: 'ERR_BOX_INVALID_OPTION' }));
    }
  });
});
