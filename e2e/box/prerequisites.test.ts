import { describe, expect, it } from 'vitest';
import { missingPrerequisites, type HostFacts } from './prerequisites.ts';

const ready: HostFacts = {
  uid: 0,
  tools: { ip: true, iptables: true, 'iptables-save': true, sysctl: true, kubectl: true, go: true },
  cniPlugins: { bridge: true, 'host-local': true, loopback: true },
  cniDirs: ['/usr/lib/cni'],
  prebuiltDir: undefined,
};

describe('missingPrerequisites', () => {
  it('is empty on a ready host', () => {
    expect(missingPrerequisites(ready)).toEqual([]);
  });

  it('names each missing thing with its remedy', () => {
    const missing = missingPrerequisites({
      ...ready,
      uid: 1000,
      tools: { ...ready.tools, iptables: false, go: false },
      cniPlugins: { bridge: false, 'host-local': true, loopback: false },
    });
    expect(missing).toEqual([
      'not root: the box creates network namespaces, veths and iptables rules',
      'iptables is not installed (Debian: iptables)',
      'go is not on PATH: it builds the Kubernetes components; install Go, or set AMBIT_K8S_BIN to a dir of prebuilt ones',
      'CNI plugin(s) bridge, loopback missing in /usr/lib/cni (Debian: containernetworking-plugins)',
    ]);
  });

  it('needs no Go when the components are prebuilt', () => {
    expect(
      missingPrerequisites({ ...ready, tools: { ...ready.tools, go: false }, prebuiltDir: '/bin' }),
    ).toEqual([]);
  });
});
