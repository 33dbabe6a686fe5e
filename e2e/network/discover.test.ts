import { describe, expect, it } from 'vitest';
import { describeResources, isEmpty, parseNetnsList, selectBoxResources } from './discover.ts';

const LINKS = JSON.stringify([
  { ifname: 'lo' },
  { ifname: 'eth0' },
  { ifname: 'demobr0', ifalias: 'ambit-box:demo' },
  { ifname: 'demov0' }, // alias never set: a crash between `ip link add` and `ip link set alias`
  { ifname: 'demov12', ifalias: 'ambit-box:demo' },
  { ifname: 'demox0', ifalias: 'ambit-box:demo' }, // made by a later slice, known by its alias only
  { ifname: 'demovx' },
  { ifname: 'demo2br0', ifalias: 'ambit-box:demo2' },
  { ifname: 'demo2v0' },
]);

const SAVE = `*filter
:FORWARD ACCEPT [0:0]
:AMBIT-demo - [0:0]
:AMBIT-demo-MADE-TABLE - [0:0]
:AMBIT-demo2 - [0:0]
-A FORWARD -m comment --comment "ambit-box:demo" -j AMBIT-demo
-A FORWARD -m comment --comment "ambit-box:demo2" -j AMBIT-demo2
-A AMBIT-demo -o demobr0 -m comment --comment "ambit-box:demo" -j RETURN
COMMIT
`;

describe('selectBoxResources', () => {
  it("picks out one box's netns, links, tagged rules and chains, and nothing of a box named alike", () => {
    const found = selectBoxResources('demo', {
      netns: 'demo-n0 (id: 0)\ndemo-n1\ndemo2-n0 (id: 2)\nother\n',
      links: LINKS,
      iptablesSave: SAVE,
    });
    expect(found.netns).toEqual(['demo-n0', 'demo-n1']);
    expect(found.links).toEqual(['demobr0', 'demov0', 'demov12', 'demox0']);
    expect(found.rules.map((r) => `${r.chain} ${r.args.join(' ')}`)).toEqual([
      'FORWARD -m comment --comment ambit-box:demo -j AMBIT-demo',
    ]);
    expect(found.chains.map((c) => c.name)).toEqual(['AMBIT-demo', 'AMBIT-demo-MADE-TABLE']);
    expect(describeResources(found)).toMatch(
      /^netns demo-n0, netns demo-n1, link demobr0, .*chain filter\/AMBIT-demo, /,
    );
  });

  it('finds nothing on a clean host', () => {
    const found = selectBoxResources('demo', { netns: '', links: '[]', iptablesSave: '' });
    expect(isEmpty(found)).toBe(true);
  });

  it('reads `ip netns list` with and without ids', () => {
    expect(parseNetnsList('a (id: 0)\nb\n\n')).toEqual(['a', 'b']);
  });
});
