import { describe, expect, it } from 'vitest';
import { commandsFor, routeCommands, teardownCommands } from './commands.ts';
import { planNetwork, withPodCidrs } from './plan.ts';

const line = (argv: readonly string[]) => argv.join(' ');
const TAG = '-m comment --comment ambit-box:demo';

describe('commandsFor', () => {
  it('creates a 1-node box with exactly these commands, the guard first', () => {
    const plan = planNetwork({ box: 'demo', nodes: ['n0'] });
    expect(commandsFor(plan).map((s) => line(s.argv))).toEqual([
      'iptables -w -t filter -N AMBIT-demo',
      `iptables -w -t filter -A AMBIT-demo -i demobr0 -o demobr0 ${TAG} -j ACCEPT`,
      `iptables -w -t filter -A AMBIT-demo -o demobr0 ${TAG} -j RETURN`,
      `iptables -w -t filter -A AMBIT-demo -o lo ${TAG} -j RETURN`,
      `iptables -w -t filter -A AMBIT-demo -i demobr0 ${TAG} -j DROP`,
      `iptables -w -t filter -A AMBIT-demo -s 172.30.0.0/24 ${TAG} -j DROP`,
      `iptables -w -t filter -A AMBIT-demo -s 10.244.0.0/16 ${TAG} -j DROP`,
      `iptables -w -t filter -A AMBIT-demo -d 172.30.0.0/24 ${TAG} -j DROP`,
      `iptables -w -t filter -A AMBIT-demo -d 10.244.0.0/16 ${TAG} -j DROP`,
      `iptables -w -t filter -A AMBIT-demo -d 10.96.0.0/16 ${TAG} -j DROP`,
      `iptables -w -t filter -I FORWARD 1 ${TAG} -j AMBIT-demo`,
      `iptables -w -t filter -I OUTPUT 1 ${TAG} -j AMBIT-demo`,
      'ip link add demobr0 type bridge',
      'ip link set dev demobr0 alias ambit-box:demo up',
      'ip addr add 172.30.0.1/24 dev demobr0',
      'ip netns add demo-n0',
      'ip netns exec demo-n0 sysctl -q -w net.ipv4.ip_forward=1 net.ipv4.conf.all.rp_filter=0 ' +
        'net.ipv4.conf.default.rp_filter=0 net.bridge.bridge-nf-call-iptables=1',
      'ip link add demov0 type veth peer name eth0 netns demo-n0',
      'ip link set dev demov0 alias ambit-box:demo master demobr0 up',
      'ip -n demo-n0 link set dev lo up',
      'ip -n demo-n0 addr add 172.30.0.10/24 dev eth0',
      'ip -n demo-n0 link set dev eth0 up',
      'ip -n demo-n0 route replace default via 172.30.0.1 dev eth0',
      'ip route replace 10.244.0.0/24 via 172.30.0.10 dev demobr0',
    ]);
  });

  it('routes every other node pod CIDR in each netns of a 2-node box', () => {
    const lines = commandsFor(planNetwork({ box: 'demo', nodes: ['n0', 'n1'] })).map((s) => line(s.argv));
    expect(lines).toContain('ip -n demo-n0 route replace 10.244.1.0/24 via 172.30.0.11 dev eth0');
    expect(lines).toContain('ip -n demo-n1 route replace 10.244.0.0/24 via 172.30.0.10 dev eth0');
    expect(lines).toContain('ip link add demov1 type veth peer name eth0 netns demo-n1');
    expect(lines.filter((l) => l.includes('route replace 10.244.'))).toHaveLength(4); // 2 in netns, 2 on host
  });

  it('leaves bridge-nf-call-iptables out without br_netfilter, and records filter objects it will create', () => {
    const plan = planNetwork({ box: 'demo', nodes: ['n0'] });
    const steps = commandsFor(plan, {
      brNetfilter: false,
      willCreate: ['TABLE', 'FORWARD', 'OUTPUT'],
    });
    const lines = steps.map((s) => line(s.argv));
    expect(lines.find((l) => l.includes('sysctl'))).not.toContain('bridge-nf-call-iptables');
    expect(lines.slice(0, 4)).toEqual([
      'iptables -w -t filter -N AMBIT-demo-MADE-TABLE',
      'iptables -w -t filter -N AMBIT-demo-MADE-FORWARD',
      'iptables -w -t filter -N AMBIT-demo-MADE-OUTPUT',
      'iptables -w -t filter -N AMBIT-demo',
    ]);
  });

  it('names each step for error messages', () => {
    const steps = commandsFor(planNetwork({ box: 'demo', nodes: ['n0'] }));
    expect(steps.map((s) => s.what)).toContain('attach demov0 to demobr0');
    expect(new Set(steps.map((s) => s.what)).size).toBe(steps.length);
  });
});

describe('teardownCommands', () => {
  it('removes links first and the guard last', () => {
    expect(teardownCommands(planNetwork({ box: 'demo', nodes: ['n0', 'n1'] })).map(line)).toEqual([
      'ip link del dev demov0',
      'ip netns del demo-n0',
      'ip link del dev demov1',
      'ip netns del demo-n1',
      'ip link del dev demobr0',
      `iptables -w -t filter -D FORWARD ${TAG} -j AMBIT-demo`,
      `iptables -w -t filter -D OUTPUT ${TAG} -j AMBIT-demo`,
      'iptables -w -t filter -F AMBIT-demo',
      'iptables -w -t filter -X AMBIT-demo',
    ]);
  });
});

describe('routeCommands', () => {
  it('deletes stale routes first, then puts new ones, touching nothing unchanged', () => {
    const before = planNetwork({ box: 'demo', nodes: ['n0', 'n1', 'n2'] });
    const after = withPodCidrs(before, { n1: '10.244.9.0/24' });
    expect(routeCommands(before, after).map((s) => line(s.argv))).toEqual([
      'ip -n demo-n0 route del 10.244.1.0/24 via 172.30.0.11 dev eth0',
      'ip -n demo-n2 route del 10.244.1.0/24 via 172.30.0.11 dev eth0',
      'ip route del 10.244.1.0/24 via 172.30.0.11 dev demobr0',
      'ip -n demo-n0 route replace 10.244.9.0/24 via 172.30.0.11 dev eth0',
      'ip -n demo-n2 route replace 10.244.9.0/24 via 172.30.0.11 dev eth0',
      'ip route replace 10.244.9.0/24 via 172.30.0.11 dev demobr0',
    ]);
  });

  it('moves routes when two nodes swap pod CIDRs', () => {
    const before = planNetwork({ box: 'demo', nodes: ['n0', 'n1', 'n2'] });
    const after = withPodCidrs(before, { n1: '10.244.2.0/24', n2: '10.244.1.0/24' });
    const lines = routeCommands(before, after).map((s) => line(s.argv));
    expect(lines).toContain('ip -n demo-n0 route replace 10.244.1.0/24 via 172.30.0.12 dev eth0');
    expect(lines).toContain('ip -n demo-n0 route replace 10.244.2.0/24 via 172.30.0.11 dev eth0');
    // A node that now owns a CIDR it used to route elsewhere drops that route (its CNI will serve it).
    expect(lines.filter((l) => l.includes(' del '))).toEqual([
      'ip -n demo-n1 route del 10.244.2.0/24 via 172.30.0.12 dev eth0',
      'ip -n demo-n2 route del 10.244.1.0/24 via 172.30.0.11 dev eth0',
    ]);
    expect(routeCommands(after, after)).toEqual([]);
  });
});
