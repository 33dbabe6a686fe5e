// Test helpers (never imported by production code): throwaway network namespaces joined by a veth pair, and small
// TCP servers and clients run inside them.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { promisify } from 'node:util';

const exec = promisify(execFile);

export async function sh(file: string, ...args: string[]): Promise<string> {
  return (await exec(file, args, { encoding: 'utf8' })).stdout;
}

export const netnsPath = (name: string): string => `/var/run/netns/${name}`;

/** `ip netns add` with lo up. */
export async function addNetns(name: string): Promise<void> {
  await sh('ip', 'netns', 'add', name);
  await sh('ip', '-n', name, 'link', 'set', 'lo', 'up');
}

/** Deletes the netns after killing whatever still runs in it (only processes we started run there). */
export async function deleteNetns(name: string): Promise<void> {
  const list = await sh('ip', 'netns', 'list');
  if (!list.split('\n').some((l) => l.split(' ')[0] === name)) return;
  await sh('ip', 'netns', 'delete', name);
}

/**
 * Joins two netns with a veth pair made inside the first (the host netns never sees it) and gives each end an
 * address in the same /24.
 */
export async function linkPair(a: string, aAddr: string, b: string, bAddr: string): Promise<void> {
  await sh('ip', '-n', a, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', b);
  await sh('ip', '-n', a, 'addr', 'add', `${aAddr}/24`, 'dev', 'eth0');
  await sh('ip', '-n', b, 'addr', 'add', `${bAddr}/24`, 'dev', 'eth0');
  await sh('ip', '-n', a, 'link', 'set', 'eth0', 'up');
  await sh('ip', '-n', b, 'link', 'set', 'eth0', 'up');
}

/** A process in a netns that prints `ready` once it listens. */
export interface NsProcess {
  readonly child: ChildProcess;
  stop(): Promise<void>;
}

async function startReady(netns: string, argv: readonly string[]): Promise<NsProcess> {
  const child = spawn('ip', ['netns', 'exec', netns, ...argv], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
  child.stderr.setEncoding('utf8').on('data', (c: string) => (err += c));
  const deadline = Date.now() + 10_000;
  while (!out.includes('ready')) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`server in ${netns} did not start: ${err || out}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  return {
    child,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGKILL');
      await exited;
    },
  };
}

/** A Node TCP server on `host:port` in `netns` answering every connection with `<reply>\n` and closing. */
export function tcpReplyServer(netns: string, host: string, port: number, reply: string): Promise<NsProcess> {
  const code = `require('net').createServer((s) => { s.end(${JSON.stringify(reply)} + '\\n'); })
    .listen(${port}, ${JSON.stringify(host)}, () => console.log('ready'));`;
  return startReady(netns, [process.execPath, '-e', code]);
}

/**
 * A transparent (IP_TRANSPARENT) listener on each port, answering `<name> <local address:port>`: the local address of
 * a TPROXYed connection is the original destination. Node cannot set IP_TRANSPARENT (the native addon will), so this
 * is python3; undefined when python3 is missing.
 */
export async function transparentServer(
  netns: string,
  ports: Readonly<Record<number, string>>,
): Promise<NsProcess | undefined> {
  try {
    await sh('python3', '-c', 'import socket');
  } catch {
    return undefined;
  }
  const code = `
import socket, select
IP_TRANSPARENT = 19
ports = ${JSON.stringify(ports)}
socks = {}
for port, name in ports.items():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.setsockopt(socket.SOL_IP, IP_TRANSPARENT, 1)
    s.bind(('0.0.0.0', int(port)))
    s.listen(16)
    socks[s] = name
print('ready', flush=True)
while True:
    r, _, _ = select.select(list(socks), [], [])
    for s in r:
        c, _ = s.accept()
        host, port = c.getsockname()
        c.sendall(('%s %s:%d\\n' % (socks[s], host, port)).encode())
        c.close()
`;
  return startReady(netns, ['python3', '-c', code]);
}

/** Connects from `netns` to `host:port` and returns the first line received. */
export async function tcpRequest(
  netns: string,
  host: string,
  port: number,
  localAddress?: string,
): Promise<string> {
  const opts = JSON.stringify({ host, port, ...(localAddress === undefined ? {} : { localAddress }) });
  const code = `const s = require('net').connect(${opts}); let b = '';
    s.setEncoding('utf8'); s.on('data', (d) => b += d); s.on('end', () => { process.stdout.write(b.split('\\n')[0]); });
    s.on('error', (e) => { process.stdout.write('ERROR ' + e.code); }); setTimeout(() => { process.stdout.write('TIMEOUT'); process.exit(0); }, 3000).unref();`;
  return sh('ip', 'netns', 'exec', netns, process.execPath, '-e', code);
}

/** Like tcpRequest, but the socket carries SO_MARK `mark` (python3; undefined when it is missing). */
export async function tcpRequestWithMark(
  netns: string,
  host: string,
  port: number,
  mark: number,
): Promise<string | undefined> {
  try {
    await sh('python3', '-c', 'import socket');
  } catch {
    return undefined;
  }
  const code = `
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, 36, ${mark})  # SO_MARK
s.settimeout(3)
s.connect((${JSON.stringify(host)}, ${port}))
print(s.makefile().readline().strip(), end='')
`;
  return sh('ip', 'netns', 'exec', netns, 'python3', '-c', code);
}

/** `iptables-save` without its timestamp comments, `ip rule` and every route table: what removal must restore. */
export async function netnsSnapshot(name: string): Promise<string> {
  const save = (await sh('ip', 'netns', 'exec', name, 'iptables-save'))
    .split('\n')
    .filter((l) => !l.startsWith('#'))
    .join('\n');
  // IPv4 only: the redirect is IPv4, and IPv6 link-local routes appear on their own schedule (DAD).
  const rules = await sh('ip', '-4', '-n', name, 'rule', 'list');
  const routes = await sh('ip', '-4', '-n', name, 'route', 'show', 'table', 'all');
  return `${save}\n--- rules\n${rules}--- routes\n${routes}`;
}
