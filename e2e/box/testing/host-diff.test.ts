import { describe, expect, it } from 'vitest';
import type { HostSnapshot } from '../../network/index.ts';
import { boxDifferences } from './host-diff.ts';

const snap = (netns: string[], links: string[] = []): HostSnapshot => ({
  netns,
  links,
  addresses: [],
  routes: [],
  iptables: [],
  mounts: netns.map((n) => `/run/netns/${n.split(' ')[0]} nsfs net:[1] nsfs`),
  sysctls: [],
});

describe('boxDifferences', () => {
  it("ignores other suites' netns but not the box's, nor anything else", () => {
    const before = snap(['akt-kc-node']);
    const after = snap(['akt-kc-1234', 'atest-pod1 (id: 3)'], ['9: atestbr0: <BROADCAST>']);
    expect(boxDifferences('atest', before, after)).toEqual([
      { section: 'netns', added: ['atest-pod1 (id: 3)'], removed: [], reordered: false },
      { section: 'links', added: ['9: atestbr0: <BROADCAST>'], removed: [], reordered: false },
      {
        section: 'mounts',
        added: ['/run/netns/atest-pod1 nsfs net:[1] nsfs'],
        removed: [],
        reordered: false,
      },
    ]);
    expect(boxDifferences('atest', before, snap(['akt-kc-5678']))).toEqual([]);
  });
});
