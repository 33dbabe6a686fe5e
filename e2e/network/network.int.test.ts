// The box network on this host, as root: real netns, veths, bridge and iptables; every test leaves the host as it
// found it (compared with host snapshots).
import { createSocket } from 'node:dgram';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { run } from './run.ts';
import type { BoxNetwork } from './network.ts';
import { createNetwork } from './network.ts';
import type { NetworkPlan } from './plan.ts';
import { HOST_UNDERLAY_IP, planNetwork } from './plan.ts';
import { reapNetwork } from './reap.ts';
import { findBoxResources } from './discover.ts';
import type { HostSnapshot } from './inventory.ts';
import { diffSnapshots, snapshotHost } from './inventory.ts';
import { NetworkError } from './errors.ts';
import { echoFromHost, runEchoClient, startEchoServer } from './testing/echo.ts';
import { counterOf, guardCounters } from './testing/guard-counters.ts';

/** Fixed names, so that a run that died is reaped by the next one (beforeAll). */
const BOX = 'nettest';
const CRASH_BOX = 'netcrash';
const FAIL_BOX = 'netfail';
const OTHER_BOX = 'netother';
const PORT = 18080;

const isRoot = process.getuid?.() === 0;

async function expectHostUnchanged(before: HostSnapshot): Promise<void> {
  expect(diffSnapshots(before, await snapshotHost())).toEqual([]);
}

/** The NetworkError `work` rejects with (fails the test if it resolves or rejects with anything else). */
async function failure(work: Promise<unknown>): Promise<NetworkError> {
  const err: unknown = await work.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(NetworkError);
  return err as NetworkError;
}

async function timed<T>(work: () => Promise<T>): Promise<[T, number]> {
  const start = performance.now();
  const result = await work();
  return [result, Math.round(performance.now() - start)];
}

/** Sends one UDP datagram and resolves with the send error code (or 'sent'). */
function sendUdp(to: string, from?: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = createSocket('udp4');
    const send = () =>
      socket.send('x', 9, to, (err) => {
        socket.close();
        resolve((err as NodeJS.ErrnoException | undefined)?.code ?? 'sent');
      });
    if (from === undefined) send();
    else socket.bind({ address: from }, send);
  });
}

describe.skipIf(!isRoot)('a 2-node box network on this host', () => {
  let before: HostSnapshot;
  let net: BoxNetwork;
  let plan: NetworkPlan;
  const timings: Record<string, number> = {};

  beforeAll(async () => {
    for (const box of [BOX, CRASH_BOX, FAIL_BOX, OTHER_BOX]) await reapNetwork(box);
    before = await snapshotHost();
    plan = planNetwork({ box: BOX, nodes: ['n0', 'n1'] });
    [net, timings.create] = await timed(() => createNetwork(plan));
  });

  afterAll(async () => {
    // Normally a no-op: the teardown test did it. Here so a failed test still leaves the host clean.
    await net?.teardown();
    for (const box of [BOX, CRASH_BOX, FAIL_BOX, OTHER_BOX]) await reapNetwork(box);
    console.info(`box network timings (ms): ${JSON.stringify(timings)}`);
  });

  it('carries a payload both ways between node netns over the underlay, without NAT', async () => {
    const server = await startEchoServer(net, 'n1', '172.30.0.11', PORT);
    try {
      const result = await runEchoClient(net, 'n0', '172.30.0.11', PORT, 256 * 1024);
      expect(result).toEqual({ sent: 262144, received: 262144, same: true, local: '172.30.0.10' });
      await vi.waitFor(() => expect(server.peers).toEqual(['172.30.0.10']));
    } finally {
      server.stop();
    }
  });

  it("lets the host reach each node's underlay IP, and its own 172.30.0.1 over loopback", async () => {
    for (const [node, ip] of [
      ['n0', '172.30.0.10'],
      ['n1', '172.30.0.11'],
    ] as const) {
      const server = await startEchoServer(net, node, ip, PORT + 1);
      try {
        const result = await echoFromHost(ip, PORT + 1, 64 * 1024);
        expect(result).toMatchObject({ same: true, local: HOST_UNDERLAY_IP });
        await vi.waitFor(() => expect(server.peers).toEqual([HOST_UNDERLAY_IP]));
      } finally {
        server.stop();
      }
    }
    // The host talking to itself on a box address goes by lo, which the guard returns early.
    const { createServer } = await import('node:net');
    const local = createServer((s) => s.pipe(s));
    await new Promise<void>((resolve) => local.listen(PORT + 2, HOST_UNDERLAY_IP, resolve));
    try {
      expect(await echoFromHost(HOST_UNDERLAY_IP, PORT + 2, 1024)).toMatchObject({ same: true });
    } finally {
      local.close();
    }
  });

  it('sets the node sysctls in each netns', async () => {
    const keys = ['net.ipv4.ip_forward', 'net.ipv4.conf.all.rp_filter', 'net.ipv4.conf.eth0.rp_filter'];
    if (net.brNetfilter !== 'absent') keys.push('net.bridge.bridge-nf-call-iptables');
    for (const node of ['n0', 'n1']) {
      const { stdout } = await net.exec(node, ['sysctl', '-n', ...keys]);
      expect(stdout.trim().split('\n')).toEqual(['1', '0', '0', '1'].slice(0, keys.length));
    }
  });

  it('routes pod CIDRs given later, and carries traffic to a pod address through them', async () => {
    await net.setPodCidrs({ n0: '10.244.5.0/24', n1: '10.244.7.0/24' });
    const n0Routes = (await net.exec('n0', ['ip', '-4', 'route', 'show'])).stdout;
    expect(n0Routes).toContain('10.244.7.0/24 via 172.30.0.11 dev eth0');
    expect(n0Routes).not.toContain('10.244.1.0/24');
    expect((await net.exec('n1', ['ip', '-4', 'route', 'show'])).stdout).toContain(
      '10.244.5.0/24 via 172.30.0.10 dev eth0',
    );
    const hostRoutes = (await run(['ip', '-4', 'route', 'show'])).stdout;
    expect(hostRoutes).toContain('10.244.7.0/24 via 172.30.0.11 dev nettestbr0');
    expect(hostRoutes).not.toMatch(/10\.244\.[01]\.0\/24/);

    // A stand-in pod address in node 1's pod CIDR, reached from node 0 and from the host.
    await net.exec('n1', ['ip', 'addr', 'add', '10.244.7.9/32', 'dev', 'lo']);
    const server = await startEchoServer(net, 'n1', '10.244.7.9', PORT + 3);
    try {
      expect(await runEchoClient(net, 'n0', '10.244.7.9', PORT + 3, 4096)).toMatchObject({ same: true });
      expect(await echoFromHost('10.244.7.9', PORT + 3, 4096)).toMatchObject({ same: true });
    } finally {
      server.stop();
    }

    await net.addPodCidrRoute('n1', '10.244.8.0/24');
    const moved = (await net.exec('n0', ['ip', '-4', 'route', 'show'])).stdout;
    expect(moved).toContain('10.244.8.0/24 via 172.30.0.11 dev eth0');
    expect(moved).not.toContain('10.244.7.0/24');
    expect(net.plan.nodes.map((n) => n.podCidr)).toEqual(['10.244.5.0/24', '10.244.8.0/24']);
  });

  it('installs the guard: FORWARD and OUTPUT jump to a chain that drops what would leave the underlay', async () => {
    const save = (await run(['iptables-save', '-t', 'filter'])).stdout;
    const tag = '-m comment --comment "ambit-box:nettest"';
    expect(save).toContain(`-A FORWARD ${tag} -j AMBIT-nettest`);
    expect(save).toContain(`-A OUTPUT ${tag} -j AMBIT-nettest`);
    const chain = save.split('\n').filter((l) => l.startsWith('-A AMBIT-nettest '));
    expect(chain).toEqual([
      `-A AMBIT-nettest -i nettestbr0 -o nettestbr0 ${tag} -j ACCEPT`,
      `-A AMBIT-nettest -o nettestbr0 ${tag} -j RETURN`,
      `-A AMBIT-nettest -o lo ${tag} -j RETURN`,
      `-A AMBIT-nettest -i nettestbr0 ${tag} -j DROP`,
      `-A AMBIT-nettest -s 172.30.0.0/24 ${tag} -j DROP`,
      `-A AMBIT-nettest -s 10.244.0.0/16 ${tag} -j DROP`,
      `-A AMBIT-nettest -d 172.30.0.0/24 ${tag} -j DROP`,
      `-A AMBIT-nettest -d 10.244.0.0/16 ${tag} -j DROP`,
      `-A AMBIT-nettest -d 10.96.0.0/16 ${tag} -j DROP`,
    ]);
    // Our jumps come before any rule the host had in those chains.
    const forward = save.split('\n').filter((l) => l.startsWith('-A FORWARD '));
    expect(forward[0]).toBe(`-A FORWARD ${tag} -j AMBIT-nettest`);
  });

  it('lets bridged node-to-node traffic through the guard (br_netfilter hands it to FORWARD)', async () => {
    const bridgedToIptables = (
      await run(['sysctl', '-n', 'net.bridge.bridge-nf-call-iptables'])
    ).stdout.trim();
    const countersBefore = await guardCounters(plan.tag);
    const server = await startEchoServer(net, 'n1', '172.30.0.11', PORT + 4);
    try {
      expect(await runEchoClient(net, 'n0', '172.30.0.11', PORT + 4, 1024)).toMatchObject({ same: true });
    } finally {
      server.stop();
    }
    const countersAfter = await guardCounters(plan.tag);
    const delta = (...f: string[]) => counterOf(countersAfter, ...f) - counterOf(countersBefore, ...f);
    if (bridgedToIptables === '1') {
      expect(delta('-A FORWARD')).toBeGreaterThan(0);
      expect(delta('-i nettestbr0 -o nettestbr0', 'ACCEPT')).toBeGreaterThan(0);
    }
    for (const rule of countersAfter.keys()) {
      if (rule.endsWith('-j DROP')) expect(delta(rule), rule).toBe(0);
    }
  });

  it('drops host traffic towards or from box ranges that would leave by another interface', async () => {
    // "Another interface": a veth to a netns of our own holding 10.244.200.1, so even if the guard failed the
    // packet would only reach an address this test made. (This kernel has no dummy links.)
    const [other, outside] = [`${BOX}x0`, `${BOX}-outside`];
    await run(['ip', 'netns', 'add', outside]);
    try {
      await run(['ip', 'link', 'add', other, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', outside]);
      await run(['ip', 'link', 'set', 'dev', other, 'alias', plan.tag, 'up']);
      await run(['ip', '-n', outside, 'addr', 'add', '10.244.200.1/24', 'dev', 'eth0']);
      await run(['ip', '-n', outside, 'link', 'set', 'dev', 'eth0', 'up']);
      await run(['ip', 'route', 'add', '10.244.200.0/24', 'dev', other]);
      expect((await run(['ip', 'route', 'get', '10.244.200.1'])).stdout).toContain(`dev ${other}`);
      const countersBefore = await guardCounters(plan.tag);
      expect(await sendUdp('10.244.200.1')).toBe('EPERM');
      expect(await sendUdp('10.244.200.1', HOST_UNDERLAY_IP)).toBe('EPERM');
      const countersAfter = await guardCounters(plan.tag);
      const delta = (...f: string[]) => counterOf(countersAfter, ...f) - counterOf(countersBefore, ...f);
      const drops = [...countersAfter.keys()].filter((r) => r.endsWith('-j DROP'));
      expect(drops.reduce((sum, rule) => sum + delta(rule), 0)).toBe(2);
      expect(delta('-s 172.30.0.0/24', 'DROP')).toBeGreaterThanOrEqual(1);
    } finally {
      await run(['ip', 'link', 'del', 'dev', other]).catch(() => undefined);
      await run(['ip', 'netns', 'del', outside]);
    }
  });

  it('refuses a box whose name or address ranges are already in use, and leaves the running one alone', async () => {
    const during = await snapshotHost();
    const same = await failure(createNetwork(planNetwork({ box: BOX, nodes: ['n0', 'n1'] })));
    expect(same.code).toBe('ERR_NETWORK_IN_USE');
    expect(same.message).toMatch(
      /box nettest already exists on this machine \(netns nettest-n0, .*reapNetwork/,
    );
    const other = await failure(createNetwork(planNetwork({ box: OTHER_BOX, nodes: ['a'] })));
    expect(other.code).toBe('ERR_NETWORK_IN_USE');
    expect(other.message).toContain('address 172.30.0.1 on nettestbr0 is inside 172.30.0.0/24');
    await expectHostUnchanged(during);
  });

  it('tears down to exactly the host it found', async () => {
    [, timings.teardown] = await timed(() => net.teardown());
    await expectHostUnchanged(before);
    await expect(net.exec('n0', ['true'])).rejects.toMatchObject({ code: 'ERR_NETWORK_TORN_DOWN' });
    await net.teardown(); // idempotent
  });

  it('reaps a box whose owner crashed (the handle is simply forgotten)', async () => {
    const crashed = await createNetwork(planNetwork({ box: CRASH_BOX, nodes: ['a', 'b', 'c'] }));
    await crashed.exec('a', ['true']);
    // Something a later slice might add, found by its alias alone.
    await run(['ip', 'link', 'add', `${CRASH_BOX}x0`, 'type', 'veth', 'peer', 'name', `${CRASH_BOX}x1`]);
    await run(['ip', 'link', 'set', 'dev', `${CRASH_BOX}x0`, 'alias', 'ambit-box:netcrash']);
    const [report, ms] = await timed(() => reapNetwork(CRASH_BOX));
    timings.reap3 = ms;
    expect(report.found.netns).toHaveLength(3);
    expect(report.found.links).toEqual(expect.arrayContaining(['netcrashbr0', 'netcrashv2', 'netcrashx0']));
    await expectHostUnchanged(before);
    expect(await findBoxResources(CRASH_BOX)).toEqual({ netns: [], links: [], rules: [], chains: [] });
  });

  it('removes a half-created box and names the command that failed', async () => {
    const good = planNetwork({ box: FAIL_BOX, nodes: ['a', 'b'] });
    // The very last step fails: every other part of the box exists by then.
    const broken: NetworkPlan = {
      ...good,
      hostRoutes: [...good.hostRoutes, { to: '10.244.9.0/24', via: '172.30.0.99', dev: 'netfailzz0' }],
    };
    const err = await failure(createNetwork(broken));
    expect(err.code).toBe('ERR_NETWORK_COMMAND');
    expect(err.message).toMatch(
      /route 10\.244\.9\.0\/24 on the host failed: `ip route replace 10\.244\.9\.0\/24 via 172\.30\.0\.99 dev netfailzz0` exited \d+: Cannot find device "netfailzz0"/,
    );
    await expectHostUnchanged(before);
  });
});
