// Unit tests: netns names, pod DNS and the managed hosts file.
import { describe, expect, it } from 'vitest';
import { hostsFileText, podDns, podHostname, podNetnsName, resolvConfText } from './sandbox-plan.ts';

describe('podNetnsName', () => {
  it('takes 12 hex digits of the uid after the prefix', () => {
    expect(podNetnsName('akt-kl-', '0B4C3D2E-1111-2222-3333-444455556666')).toBe('akt-kl-0b4c3d2e1111');
    expect(() => podNetnsName('x-', '../../etc')).toThrow(
      expect.objectContaining({ code: 'ERR_SANDBOX_INVALID' }),
    );
  });
});

describe('podDns', () => {
  it('gives ClusterFirst pods cluster DNS, the namespace searches, then the node searches, ndots:5', () => {
    const r = podDns({ namespace: 'shop', hostNetwork: false, node: { searches: ['corp.example'] } });
    expect(resolvConfText(r)).toBe(
      'search shop.svc.cluster.local svc.cluster.local cluster.local corp.example\n' +
        'nameserver 10.96.0.10\n' +
        'options ndots:5\n',
    );
  });

  it('falls back to the node for hostNetwork ClusterFirst, unless ClusterFirstWithHostNet', () => {
    const node = { nameservers: ['172.30.0.1'], searches: [] };
    expect(podDns({ namespace: 'a', hostNetwork: true, node })).toEqual({
      nameservers: ['172.30.0.1'],
      searches: [],
      options: [],
    });
    expect(
      podDns({ namespace: 'a', hostNetwork: true, node, dnsPolicy: 'ClusterFirstWithHostNet' }).nameservers,
    ).toEqual(['10.96.0.10']);
  });

  it('merges dnsConfig: appends servers and searches, overrides options by name', () => {
    const r = podDns({
      namespace: 'a',
      hostNetwork: false,
      clusterDns: '10.96.0.99',
      dnsConfig: {
        nameservers: ['10.96.0.99', '1.2.3.4'],
        searches: ['cluster.local', 'x.y'],
        options: [{ name: 'ndots', value: '2' }, { name: 'edns0' }],
      },
    });
    expect(r).toEqual({
      nameservers: ['10.96.0.99', '1.2.3.4'],
      searches: ['a.svc.cluster.local', 'svc.cluster.local', 'cluster.local', 'x.y'],
      options: ['ndots:2', 'edns0'],
    });
    expect(podDns({ namespace: 'a', hostNetwork: false, dnsPolicy: 'None' })).toEqual({
      nameservers: [],
      searches: [],
      options: [],
    });
  });
});

describe('hosts file', () => {
  it('is the kubelet-managed file with the pod IP and name', () => {
    expect(hostsFileText({ ips: ['10.244.50.2'], hostname: 'web-0', namespace: 'shop' })).toBe(
      '# Kubernetes-managed hosts file.\n' +
        '127.0.0.1\tlocalhost\n' +
        '::1\tlocalhost ip6-localhost ip6-loopback\n' +
        'fe00::0\tip6-localnet\n' +
        'fe00::0\tip6-mcastprefix\n' +
        'fe00::1\tip6-allnodes\n' +
        'fe00::2\tip6-allrouters\n' +
        '10.244.50.2\tweb-0\n',
    );
  });

  it('adds the subdomain FQDN and host aliases', () => {
    const text = hostsFileText({
      ips: ['10.244.50.2'],
      hostname: 'web-0',
      subdomain: 'web',
      namespace: 'shop',
      hostAliases: [{ ip: '10.0.0.1', hostnames: ['a', 'b'] }],
    });
    expect(text).toContain('10.244.50.2\tweb-0.web.shop.svc.cluster.local\tweb-0\n');
    expect(text.endsWith('\n# Entries added by HostAliases.\n10.0.0.1\ta\tb\n')).toBe(true);
  });

  it('cuts long pod names to 63 characters without a trailing dash', () => {
    expect(podHostname(`${'a'.repeat(62)}-b`)).toBe('a'.repeat(62));
    expect(podHostname('pod', 'custom')).toBe('custom');
  });
});
