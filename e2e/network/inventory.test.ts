import { describe, expect, it } from 'vitest';
import type { HostSnapshot } from './inventory.ts';
import { diffSnapshots, netnsMounts, normalizeAddressLine, normalizeRouteLine } from './inventory.ts';

const EMPTY: HostSnapshot = {
  netns: [],
  links: [],
  addresses: [],
  routes: [],
  iptables: [],
  mounts: [],
  sysctls: [],
};

describe('host snapshot normalization', () => {
  it('drops address lifetimes and the tentative flag', () => {
    expect(
      normalizeAddressLine(
        '4: eth0    inet 192.0.2.2/24 brd 192.0.2.255 scope global dynamic eth0\\       valid_lft 3599sec preferred_lft 3599sec',
      ),
    ).toBe('4: eth0    inet 192.0.2.2/24 brd 192.0.2.255 scope global dynamic eth0');
    expect(
      normalizeAddressLine(
        '5: xbr0    inet6 fe80::1/64 scope link tentative \\       valid_lft forever preferred_lft forever',
      ),
    ).toBe('5: xbr0    inet6 fe80::1/64 scope link');
  });

  it('drops route expiry', () => {
    expect(normalizeRouteLine('10.0.0.0/8 via 192.0.2.1 dev eth0 expires 293sec')).toBe(
      '10.0.0.0/8 via 192.0.2.1 dev eth0',
    );
  });

  it('keeps only /run/netns mounts, without ids and peer groups', () => {
    const mountinfo = [
      '25 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw',
      '610 25 254:0 /run/netns /run/netns rw,relatime shared:300 - ext4 /dev/vda rw',
      '611 610 0:4 net:[4026532178] /run/netns/demo-n0 rw shared:301 - nsfs nsfs rw',
      '612 25 0:4 net:[4026532179] /run/netnsX rw - nsfs nsfs rw',
    ].join('\n');
    expect(netnsMounts(mountinfo)).toEqual([
      '/run/netns ext4 /run/netns /dev/vda',
      '/run/netns/demo-n0 nsfs net:[4026532178] nsfs',
    ]);
  });
});

describe('diffSnapshots', () => {
  it('is empty for equal snapshots and names added and removed lines per section', () => {
    expect(diffSnapshots(EMPTY, { ...EMPTY })).toEqual([]);
    const before = { ...EMPTY, netns: ['a'], iptables: ['-A X -j A', '-A X -j B'] };
    const after = { ...EMPTY, netns: ['b'], iptables: ['-A X -j B', '-A X -j A'] };
    expect(diffSnapshots(before, after)).toEqual([
      { section: 'netns', added: ['b'], removed: ['a'], reordered: false },
      { section: 'iptables', added: [], removed: [], reordered: true },
    ]);
  });
});
