import { describe, expect, it } from 'vitest';
import { NetworkError } from './errors.ts';
import { planNetwork, withPodCidrs } from './plan.ts';

function codeOf(work: () => unknown): string | undefined {
  try {
    work();
  } catch (err) {
    return err instanceof NetworkError ? err.code : 'not a NetworkError';
  }
  return undefined;
}

describe('planNetwork', () => {
  it('plans the 2-node box of the address plan (e2e/README.md)', () => {
    const plan = planNetwork({ box: 'demo', nodes: ['n0', 'n1'] });
    expect(plan.tag).toBe('ambit-box:demo');
    expect(plan.underlay).toEqual({
      bridge: 'demobr0',
      cidr: '172.30.0.0/24',
      hostIp: '172.30.0.1',
      hostAddress: '172.30.0.1/24',
    });
    expect(plan.nodes[0]).toEqual({
      name: 'n0',
      index: 0,
      netns: 'demo-n0',
      hostVeth: 'demov0',
      nodeVeth: 'eth0',
      ip: '172.30.0.10',
      address: '172.30.0.10/24',
      podCidr: '10.244.0.0/24',
      routes: [
        { to: 'default', via: '172.30.0.1', dev: 'eth0' },
        { to: '10.244.1.0/24', via: '172.30.0.11', dev: 'eth0' },
      ],
      sysctls: [
        { key: 'net.ipv4.ip_forward', value: '1' },
        { key: 'net.ipv4.conf.all.rp_filter', value: '0' },
        { key: 'net.ipv4.conf.default.rp_filter', value: '0' },
        { key: 'net.bridge.bridge-nf-call-iptables', value: '1', needs: 'br_netfilter' },
      ],
    });
    expect(plan.nodes[1]?.routes).toEqual([
      { to: 'default', via: '172.30.0.1', dev: 'eth0' },
      { to: '10.244.0.0/24', via: '172.30.0.10', dev: 'eth0' },
    ]);
    expect(plan.hostRoutes).toEqual([
      { to: '10.244.0.0/24', via: '172.30.0.10', dev: 'demobr0' },
      { to: '10.244.1.0/24', via: '172.30.0.11', dev: 'demobr0' },
    ]);
  });

  it('keeps every interface name within IFNAMSIZ for the longest box name and node count', () => {
    const nodes = Array.from({ length: 100 }, (_, i) => `node-${i}`);
    const plan = planNetwork({ box: 'abcdefgh', nodes });
    const names = [plan.underlay.bridge, ...plan.nodes.map((n) => n.hostVeth)];
    expect(Math.max(...names.map((n) => n.length))).toBeLessThanOrEqual(15);
    expect(plan.nodes[99]?.ip).toBe('172.30.0.109');
    expect(plan.nodes[99]?.podCidr).toBe('10.244.99.0/24');
    expect(plan.guard.chain.length).toBeLessThanOrEqual(28);
  });

  it('plans the guard: within the bridge accepts, into it and loopback return, everything else of the box ranges drops', () => {
    const { guard } = planNetwork({ box: 'demo', nodes: ['n0'] });
    expect(guard.chain).toBe('AMBIT-demo');
    expect(guard.hooks).toEqual(['FORWARD', 'OUTPUT']);
    expect(guard.rules.map((r) => [...r.match, r.target].join(' '))).toEqual([
      '-i demobr0 -o demobr0 ACCEPT',
      '-o demobr0 RETURN',
      '-o lo RETURN',
      '-i demobr0 DROP',
      '-s 172.30.0.0/24 DROP',
      '-s 10.244.0.0/16 DROP',
      '-d 172.30.0.0/24 DROP',
      '-d 10.244.0.0/16 DROP',
      '-d 10.96.0.0/16 DROP',
    ]);
  });

  it('takes pod CIDRs from the caller, or none yet', () => {
    const given = planNetwork({
      box: 'b',
      nodes: ['x', 'y'],
      podCidrs: { x: '10.244.3.0/24', y: '10.244.0.0/24' },
    });
    expect(given.nodes[1]?.routes[1]).toEqual({ to: '10.244.3.0/24', via: '172.30.0.10', dev: 'eth0' });
    const unknown = planNetwork({ box: 'b', nodes: ['x', 'y'], podCidrs: {} });
    expect(unknown.nodes.map((n) => [n.podCidr, n.routes.length])).toEqual([
      [undefined, 1],
      [undefined, 1],
    ]);
    expect(unknown.hostRoutes).toEqual([]);
  });

  it.each([
    [{ box: 'Demo', nodes: ['n0'] }, /box name "Demo" must match/],
    [{ box: 'toolongname', nodes: ['n0'] }, /box name "toolongname"/],
    [{ box: 'a-b', nodes: ['n0'] }, /box name "a-b"/],
    [{ box: '9box', nodes: ['n0'] }, /box name "9box"/],
    [{ box: 'demo', nodes: [] }, /1 to 100 nodes, got 0/],
    [{ box: 'demo', nodes: ['n0', 'n0'] }, /node name n0 is given twice/],
    [{ box: 'demo', nodes: ['N_0'] }, /node name "N_0" must be a DNS label/],
    [{ box: 'demo', nodes: ['n0'], podCidrs: { n9: '10.244.0.0/24' } }, /unknown node n9/],
    [
      { box: 'demo', nodes: ['n0'], podCidrs: { n0: '10.245.0.0/24' } },
      /outside the cluster CIDR 10.244.0.0\/16/,
    ],
    [{ box: 'demo', nodes: ['n0'], podCidrs: { n0: '10.244.0.1/24' } }, /not a network CIDR/],
    [
      { box: 'demo', nodes: ['a', 'b'], podCidrs: { a: '10.244.0.0/23', b: '10.244.1.0/24' } },
      /overlaps 10.244.0.0\/23 of node a/,
    ],
  ])('refuses %j', (input, message) => {
    expect(() => planNetwork(input)).toThrow(message);
    expect(codeOf(() => planNetwork(input))).toBe('ERR_NETWORK_PLAN');
  });
});

describe('withPodCidrs', () => {
  it('adds and replaces the pod CIDRs of the nodes named and recomputes every route', () => {
    const start = planNetwork({ box: 'demo', nodes: ['n0', 'n1', 'n2'], podCidrs: {} });
    const one = withPodCidrs(start, { n2: '10.244.9.0/24' });
    expect(one.nodes[0]?.routes.map((r) => r.to)).toEqual(['default', '10.244.9.0/24']);
    expect(one.nodes[2]?.routes.map((r) => r.to)).toEqual(['default']);
    const two = withPodCidrs(one, { n0: '10.244.1.0/24', n2: '10.244.2.0/24' });
    expect(two.nodes.map((n) => n.podCidr)).toEqual(['10.244.1.0/24', undefined, '10.244.2.0/24']);
    expect(two.nodes[1]?.routes.map((r) => `${r.to} via ${r.via}`)).toEqual([
      'default via 172.30.0.1',
      '10.244.1.0/24 via 172.30.0.10',
      '10.244.2.0/24 via 172.30.0.12',
    ]);
    expect(two.hostRoutes.map((r) => r.to)).toEqual(['10.244.1.0/24', '10.244.2.0/24']);
    expect(start.nodes[2]?.podCidr).toBeUndefined(); // plans are values
  });

  it('refuses unknown nodes and overlaps with the nodes not named', () => {
    const start = planNetwork({ box: 'demo', nodes: ['n0', 'n1'] });
    expect(() => withPodCidrs(start, { n7: '10.244.7.0/24' })).toThrow(/unknown node n7/);
    expect(() => withPodCidrs(start, { n1: '10.244.0.0/24' })).toThrow(/overlaps/);
    // Swapping in one call is fine.
    const swapped = withPodCidrs(start, { n0: '10.244.1.0/24', n1: '10.244.0.0/24' });
    expect(swapped.nodes.map((n) => n.podCidr)).toEqual(['10.244.1.0/24', '10.244.0.0/24']);
  });
});
