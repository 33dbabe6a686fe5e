// The native addon against real network namespaces, as root: listeners and connections made inside a netns,
// SO_MARK seen by iptables, SO_ORIGINAL_DST after a REDIRECT, transparent source binds. Every address lives in
// the test's own netns (lo and a veth pair with both ends inside), so nothing leaves the machine, and the host
// ends as it began.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync } from 'node:fs';
import { once } from 'node:events';
import net from 'node:net';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { unmountRunNetns, willMountRunNetns } from '../../../e2e/network/netns-mount.ts';
import {
  connect,
  connectSocket,
  NativeError,
  openListener,
  originalDestination,
  originalDestinationOf,
  type ListenerOptions,
} from './index.ts';

const run = promisify(execFile);
const isRoot = process.getuid?.() === 0;

const NETNS = `ambit-nt-${randomBytes(3).toString('hex')}`;
const NETNS_PATH = `/run/netns/${NETNS}`;
/** The netns' own address on v0; the rest of its /24 is where packets to unknown hosts vanish. */
const LINK_IP = '10.255.0.1';
const REDIRECTED_IP = '10.255.0.9';
/** Not an address of the netns: only IP_TRANSPARENT lets a socket bind it. */
const FOREIGN_SOURCE_IP = '10.255.1.7';
const PROXY_MARK = 0x539;

function inNetns(...argv: string[]): Promise<{ stdout: string }> {
  return run('ip', ['netns', 'exec', NETNS, ...argv], { encoding: 'utf8' });
}

/** One `ip` command in the netns, written as on a command line. */
async function ip(command: string): Promise<void> {
  await run('ip', ['-n', NETNS, ...command.split(' ')]);
}

/** One iptables command in the netns, written as on a command line. */
async function iptables(rule: string): Promise<void> {
  await inNetns('iptables', '-w', ...rule.split(' '));
}

/** Packets counted by the mangle OUTPUT rule that matches mark 0x539. */
async function markedSyns(): Promise<number> {
  const { stdout } = await inNetns('iptables-save', '-c', '-t', 'mangle');
  const counted = /^\[(\d+):\d+\] -A OUTPUT .*--mark 0x539/m.exec(stdout)?.[1];
  if (counted === undefined) throw new Error(`no mark rule in:\n${stdout}`);
  return Number(counted);
}

const servers: net.Server[] = [];
const acceptedSockets = new Set<net.Socket>();

/** `openListener`, adopted by Node as a server, the way the ztunnel will use it. */
async function listen(
  options: Partial<ListenerOptions>,
  onConnection: (socket: net.Socket) => void,
): Promise<{ server: net.Server; port: number }> {
  const fd = openListener({ netnsPath: NETNS_PATH, host: '0.0.0.0', port: 0, ...options });
  const server = net.createServer({ allowHalfOpen: true }, onConnection);
  servers.push(server);
  server.on('connection', (socket: net.Socket) => acceptedSockets.add(socket));
  server.listen({ fd });
  await once(server, 'listening');
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('not a TCP server');
  return { server, port: address.port };
}

/** The next connection a server accepts, with its peer read at once (a closed socket no longer knows it). */
function accepted(server: net.Server): Promise<{ socket: net.Socket; peer: string | undefined }> {
  return new Promise((resolve) => {
    server.once('connection', (socket: net.Socket) => resolve({ socket, peer: socket.remoteAddress }));
  });
}

async function readAll(socket: net.Socket): Promise<string> {
  let text = '';
  for await (const chunk of socket) text += String(chunk);
  return text;
}

async function failure(work: () => unknown): Promise<NativeError> {
  let caught: unknown;
  try {
    await work();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(NativeError);
  return caught as NativeError;
}

describe.skipIf(!isRoot)('native addon in a network namespace', () => {
  let mountsRunNetns = false;

  beforeAll(async () => {
    mountsRunNetns = await willMountRunNetns();
    await run('ip', ['netns', 'add', NETNS]);
    await ip('link set lo up');
    // Both ends stay in the netns; nothing answers on v1, so SYNs to the rest of the /24 go unanswered.
    await ip('link add v0 type veth peer name v1');
    await ip(`addr add ${LINK_IP}/24 dev v0`);
    await ip('link set v0 up');
    await ip('link set v1 up');
  });

  afterAll(async () => {
    for (const socket of acceptedSockets) socket.destroy();
    for (const server of servers) server.close();
    // Deleting the netns takes its links, rules, routes and iptables with it: nothing here touched the host's.
    // Only our own netns is checked: the harness compares whole host snapshots, and other runs have theirs.
    await run('ip', ['netns', 'del', NETNS]).catch(() => undefined);
    if (mountsRunNetns) await unmountRunNetns();
    expect((await run('ip', ['netns', 'list'], { encoding: 'utf8' })).stdout).not.toMatch(NETNS);
  });

  it('listens inside the netns: reachable from there, not from the host', async () => {
    const { server, port } = await listen({}, (socket) => {
      socket.once('data', () => socket.end('pong'));
    });
    const script = `exec 3<>/dev/tcp/127.0.0.1/${port} && printf ping >&3 && cat <&3`;
    expect((await inNetns('bash', '-c', script)).stdout).toBe('pong');

    const fromHost = net.connect(port, '127.0.0.1');
    const [error] = (await once(fromHost, 'error')) as [NodeJS.ErrnoException];
    expect(error.code).toBe('ECONNREFUSED');
    const count = promisify(server.getConnections.bind(server));
    expect(await count()).toBe(0);
  });

  it('connects from inside the netns, both directions flow and half-close works', async () => {
    const { server, port } = await listen({ host: '127.0.0.1' }, (socket) => {
      // Reply only after the client's FIN: proves the client can still read after ending its side.
      void readAll(socket).then((request) => socket.end(`echo:${request}`));
    });
    const serverSide = accepted(server);
    const client = await connectSocket({
      netnsPath: NETNS_PATH,
      host: '127.0.0.1',
      port,
      allowHalfOpen: true,
    });
    expect(client.remotePort).toBe(port);
    client.end('hello');
    expect(await readAll(client)).toBe('echo:hello');
    expect((await serverSide).peer).toBe('127.0.0.1');
  });

  it('keeps the event loop free while a connect waits', async () => {
    let ticks = 0;
    const timer = setInterval(() => (ticks += 1), 10);
    try {
      // Nothing answers behind v0, so this waits out its whole timeout.
      const error = await failure(() =>
        connect({ netnsPath: NETNS_PATH, host: '10.255.0.200', port: 80, timeoutMs: 300 }),
      );
      expect(error.code).toBe('ERR_NATIVE_CONNECT_TIMEOUT');
    } finally {
      clearInterval(timer);
    }
    expect(ticks).toBeGreaterThan(5);
  });

  it('marks connections with SO_MARK', async () => {
    const { port } = await listen({ host: '127.0.0.1' }, (socket) => socket.destroy());
    await iptables(`-t mangle -A OUTPUT -p tcp --syn --dport ${port} -m mark --mark 0x539 -j ACCEPT`);
    const at = { netnsPath: NETNS_PATH, host: '127.0.0.1', port };

    (await connectSocket({ ...at, mark: PROXY_MARK })).destroy();
    expect(await markedSyns()).toBe(1);
    (await connectSocket(at)).destroy();
    expect(await markedSyns()).toBe(1);
  });

  it('reads the original destination after a REDIRECT, and marked traffic is exempt', async () => {
    const { server, port } = await listen({}, () => undefined);
    // Istio's outbound capture in miniature (DESIGN §7): redirect everything but the proxy's own packets.
    await iptables(
      `-t nat -A OUTPUT -p tcp -d ${REDIRECTED_IP} --dport 80 -m mark ! --mark 0x539 -j REDIRECT --to-ports ${port}`,
    );

    const redirected = accepted(server);
    const client = await connectSocket({ netnsPath: NETNS_PATH, host: REDIRECTED_IP, port: 80 });
    const { socket } = await redirected;
    expect(socket.localPort).toBe(port);
    expect(originalDestinationOf(socket)).toEqual({ host: REDIRECTED_IP, port: 80 });
    client.destroy();

    // Without NAT, conntrack's original tuple is simply where the connection went.
    const direct = accepted(server);
    const other = await connectSocket({ netnsPath: NETNS_PATH, host: '127.0.0.1', port });
    expect(originalDestinationOf((await direct).socket)).toEqual({ host: '127.0.0.1', port });
    other.destroy();

    const exempt = { netnsPath: NETNS_PATH, host: REDIRECTED_IP, port: 80, mark: PROXY_MARK, timeoutMs: 200 };
    expect((await failure(() => connect(exempt))).code).toBe('ERR_NATIVE_CONNECT_TIMEOUT');
  });

  it('connects from a foreign source address with IP_TRANSPARENT', async () => {
    // Replies to the foreign address are delivered locally, as Istio's `fwmark 0x111 lookup 100` does for
    // TPROXYed traffic; the local table does not list it, so binding it still needs IP_TRANSPARENT.
    await ip(`route add local ${FOREIGN_SOURCE_IP}/32 dev lo table 100`);
    await ip(`rule add to ${FOREIGN_SOURCE_IP}/32 lookup 100`);
    const { server, port } = await listen({ transparent: true }, (socket) => socket.end('hi'));
    const serverSide = accepted(server);

    const at = { netnsPath: NETNS_PATH, host: LINK_IP, port, transparentSource: FOREIGN_SOURCE_IP };
    const client = await connectSocket(at);
    expect(client.localAddress).toBe(FOREIGN_SOURCE_IP);
    expect(await readAll(client)).toBe('hi');
    expect((await serverSide).peer).toBe(FOREIGN_SOURCE_IP);
  });

  it('fails with codes', async () => {
    const missing = { netnsPath: `/run/netns/${NETNS}-missing`, host: '127.0.0.1', port: 80 };
    expect((await failure(() => openListener(missing))).code).toBe('ERR_NATIVE_NETNS');
    expect((await failure(() => connect(missing))).code).toBe('ERR_NATIVE_NETNS');
    const notNet = { netnsPath: '/proc/self/ns/uts', host: '127.0.0.1', port: 80 };
    expect((await failure(() => openListener(notNet))).code).toBe('ERR_NATIVE_SETNS');

    const refused = await failure(() => connect({ netnsPath: NETNS_PATH, host: '127.0.0.1', port: 1 }));
    expect(refused.code).toBe('ERR_NATIVE_CONNECT_REFUSED');
    expect(refused.message).toMatch(/ECONNREFUSED/);

    expect((await failure(() => connect({ host: 'localhost', port: 1 }))).code).toBe('ERR_NATIVE_ARGUMENT');
    const taken = await listen({ host: '127.0.0.1' }, () => undefined);
    const clash = { netnsPath: NETNS_PATH, host: '127.0.0.1', port: taken.port };
    expect((await failure(() => openListener(clash))).code).toBe('ERR_NATIVE_BIND');

    // A listening socket has no connection, so conntrack has no entry to ask.
    const listening = openListener({ netnsPath: NETNS_PATH, host: '127.0.0.1', port: 0 });
    try {
      expect((await failure(() => originalDestination(listening))).code).toBe('ERR_NATIVE_ORIGINAL_DST');
    } finally {
      closeSync(listening);
    }
    const closed = new net.Socket();
    expect((await failure(() => originalDestinationOf(closed))).code).toBe('ERR_NATIVE_ARGUMENT');
  });
});
