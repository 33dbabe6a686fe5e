// Runtime edge cases on a real node netns: CNI failures, DEL idempotency, hostNetwork, mount points, launcher errors.
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { podConflist } from './cni-config.ts';
import { startContainer, type ContainerHandle } from './container.ts';
import { ensureProbeSource } from './prober.ts';
import { createSandbox, removeSandbox, type Sandbox } from './sandbox.ts';
import { hostState, processesMentioning, sweepPrefix, type HostState } from './testing/host-state.ts';
import { run } from './tools.ts';

const PREFIX = 'akt-klr-';
const NODE = 'akt-klr-node0';
const POD_CIDR = '10.244.51.0/24';
const TAG = `akt-klr-tag-${process.pid}`;
/** Host paths that do not exist before the test; the runtime may make them only while a container needs them. */
const FRESH = ['/etc/akt-klr', '/opt/akt-klr', '/run/akt-klr'];

let n = 0;
/** Distinct in the first 12 hex digits, which name the netns. */
function uid(): string {
  n++;
  return `${(0xabc00000 + n).toString(16)}-0000-4000-8000-000000000000`;
}

/** `sh -c script TAG`: cheap containers whose argv carries the tag. */
function sh(script: string): string[] {
  return ['/bin/sh', '-c', script, TAG];
}

async function textOf(path: string): Promise<string> {
  return (await readFile(path, 'utf8'))
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => l.split(' ').slice(3).join(' '))
    .join('\n');
}

describe('runtime edge cases', () => {
  let before: HostState;
  let work: string;
  const sandboxes: Sandbox[] = [];
  const handles: ContainerHandle[] = [];

  beforeAll(async () => {
    await sweepPrefix(PREFIX);
    for (const p of FRESH) expect(existsSync(p), `${p} must not exist before the test`).toBe(false);
    before = await hostState(PREFIX);
    work = await mkdtemp(join(tmpdir(), PREFIX));
    await run('ip', ['netns', 'add', NODE]);
    await ensureProbeSource(NODE);
  });

  afterAll(async () => {
    await Promise.all(handles.map((h) => h.stop(0)));
    for (const s of sandboxes) await removeSandbox(s);
    if ((await run('ip', ['netns', 'list'])).includes(NODE)) await run('ip', ['netns', 'delete', NODE]);
    await rm(work, { recursive: true, force: true });
  });

  const sandboxOpts = (name: string, u: string = uid()) => ({
    nodeNetns: NODE,
    pod: { namespace: 'edge', name, uid: u },
    podCidr: POD_CIDR,
    workDir: join(work, 'pods', u),
    ipamDataDir: join(work, 'ipam'),
    netnsPrefix: PREFIX,
  });

  it('reports a failing CNI plugin by name and leaves no netns behind', async () => {
    const opts = sandboxOpts('broken');
    // Its own bridge: a bridge plugin ADD that fails in IPAM leaves its new bridge with no port and so an all-zero
    // MAC, which every later ADD on that bridge then fails to pin (containernetworking/plugins#620).
    const conflist = podConflist({
      podCidr: 'not-a-cidr',
      ipamDataDir: join(work, 'ipam'),
      bridge: 'akt-bad0',
    });
    const err = await createSandbox({ ...opts, conflist }).catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'CniError', code: 'ERR_CNI_PLUGIN', plugin: 'bridge' });
    expect((err as Error).message).toMatch(/^cni plugin bridge failed ADD \(cni code \d+\): .*not-a-cidr/);
    expect((await hostState(PREFIX)).netns).toEqual([NODE]);
    expect(existsSync(join(opts.workDir, 'sandbox'))).toBe(false);
    expect(existsSync(`/etc/netns/akt-klr-${opts.pod.uid.slice(0, 8)}0000`)).toBe(false);
  });

  it('removes a sandbox idempotently, also after its netns is gone, releasing its address', async () => {
    const ipam = join(work, 'ipam', 'ambit-podnet');
    const a = await createSandbox(sandboxOpts('twice'));
    sandboxes.push(a);
    expect(existsSync(join(ipam, a.podIP))).toBe(true);
    await removeSandbox(a);
    await removeSandbox(a);
    expect(existsSync(join(ipam, a.podIP))).toBe(false);
    const b = await createSandbox(sandboxOpts('netns-gone'));
    sandboxes.push(b);
    await run('ip', ['netns', 'delete', b.netns ?? '']);
    await removeSandbox(b); // DEL with the netns gone still releases the address
    expect(existsSync(join(ipam, b.podIP))).toBe(false);
    sandboxes.splice(0);
    sandboxes.push(await createSandbox(sandboxOpts('after')));
  });

  it('runs a hostNetwork pod in the node netns with the sandbox /etc files bound in', async () => {
    const opts = sandboxOpts('host-pod');
    const s = await createSandbox({
      ...opts,
      pod: { ...opts.pod, dnsPolicy: 'ClusterFirstWithHostNet' },
      hostNetwork: true,
      hostIP: '172.30.0.10',
    });
    sandboxes.push(s);
    expect(s).toMatchObject({ netns: null, podIP: '172.30.0.10', hostNetwork: true });
    const logPath = join(work, 'logs', 'host.log');
    const h = await startContainer({
      netns: s.netns,
      nodeNetns: NODE,
      command: sh(
        'ip -o addr show dev lo | grep -c 169.254.7.127; tail -n 1 /etc/hosts; head -n 1 /etc/resolv.conf',
      ),
      env: [],
      mounts: s.etcMounts,
      logPath,
    });
    await expect(h.exited).resolves.toEqual({ code: 0, signal: null });
    expect((await textOf(logPath)).split('\n')).toEqual([
      '1',
      '172.30.0.10\thost-pod',
      'search edge.svc.cluster.local svc.cluster.local cluster.local',
    ]);
  });

  it('binds files and nested volumes on fresh mount points, read-only where asked, gone from the host afterwards', async () => {
    const vol = join(work, 'vol');
    await mkdir(join(vol, 'config'), { recursive: true });
    await writeFile(join(vol, 'config', 'app.conf'), 'conf-v1');
    await mkdir(join(vol, 'scratch'), { recursive: true });
    const existing = join(work, 'existing');
    await mkdir(existing);
    await writeFile(join(existing, 'host-file'), 'host');
    const logPath = join(work, 'logs', 'mounts.log');
    const s = sandboxes[0];
    if (s === undefined) throw new Error('no sandbox');
    const h = await startContainer({
      netns: s.netns,
      nodeNetns: NODE,
      command: sh(
        [
          'cat /etc/akt-klr/app.conf; echo',
          'echo data > /opt/akt-klr/ro/inner/w && echo inner-rw',
          'touch /opt/akt-klr/ro/x 2>/dev/null || echo ro-refused',
          'ls ' + existing,
          'hostname',
          'echo ready; exec sleep 30',
        ].join('; '),
      ),
      env: [],
      mounts: [
        { hostPath: join(vol, 'scratch'), mountPath: '/opt/akt-klr/ro/inner', readOnly: false },
        { hostPath: join(vol, 'config'), mountPath: '/opt/akt-klr/ro', readOnly: true },
        { hostPath: join(vol, 'config', 'app.conf'), mountPath: '/etc/akt-klr/app.conf', readOnly: true },
        { hostPath: join(vol, 'scratch'), mountPath: existing, readOnly: false },
      ],
      hostname: 'mount-pod',
      logPath,
    });
    handles.push(h);
    for (let i = 0; i < 100 && !(await textOf(logPath)).includes('ready'); i++) {
      await new Promise((r) => setTimeout(r, 50));
    }
    expect((await textOf(logPath)).split('\n')).toEqual([
      'conf-v1',
      'inner-rw',
      'ro-refused',
      'w', // the scratch volume hides the host's file

      'mount-pod',
      'ready',
    ]);
    expect(await readFile(join(vol, 'scratch', 'w'), 'utf8')).toBe('data\n');
    expect(await readFile(join(existing, 'host-file'), 'utf8')).toBe('host');
    // The nested mount point was made inside the read-only volume's directory before it turned read-only (as runc
    // makes mount points inside the rootfs).
    expect(existsSync(join(vol, 'config', 'inner'))).toBe(true);
    // Only the first missing component of each path shows on the host, empty.
    expect(existsSync('/etc/akt-klr')).toBe(true);
    expect(existsSync('/etc/akt-klr/app.conf')).toBe(false);
    expect(existsSync('/opt/akt-klr/ro')).toBe(false);
    const exec = await h.exec(['cat', '/etc/akt-klr/app.conf']);
    expect(exec).toMatchObject({ code: 0, output: 'conf-v1', timedOut: false });
    await h.stop(5);
    for (const p of FRESH) expect(existsSync(p), p).toBe(false);
  });

  it('shares a fresh parent between containers and removes it only after the last one', async () => {
    const s = sandboxes[0];
    if (s === undefined) throw new Error('no sandbox');
    const mk = async (name: string): Promise<ContainerHandle> => {
      const dir = join(work, 'tok', name);
      await mkdir(dir, { recursive: true });
      await writeFile(join(dir, 'token'), `token-${name}`);
      const h = await startContainer({
        netns: s.netns,
        nodeNetns: NODE,
        command: sh('cat /run/akt-klr/sa/token; echo; exec sleep 30'),
        env: [],
        mounts: [{ hostPath: dir, mountPath: '/run/akt-klr/sa', readOnly: true }],
        logPath: join(work, 'logs', `${name}.log`),
      });
      handles.push(h);
      return h;
    };
    const one = await mk('one');
    const two = await mk('two');
    await one.stop(5);
    expect(existsSync('/run/akt-klr')).toBe(true);
    expect((await two.exec(['cat', '/run/akt-klr/sa/token'])).output).toBe('token-two');
    await two.stop(5);
    expect(existsSync('/run/akt-klr')).toBe(false);
    expect(await textOf(join(work, 'logs', 'one.log'))).toBe('token-one');
  });

  it('fails to start with the launcher message, leaving no mount point behind', async () => {
    const s = sandboxes[0];
    if (s === undefined) throw new Error('no sandbox');
    const base = {
      netns: s.netns,
      nodeNetns: NODE,
      env: [],
      mounts: [{ hostPath: join(work, 'vol', 'config'), mountPath: '/opt/akt-klr/x', readOnly: true }],
      logPath: join(work, 'logs', 'fail.log'),
    };
    const noDir = await startContainer({
      ...base,
      command: sh('true'),
      workingDir: '/nonexistent-akt',
    }).catch((e: unknown) => e);
    expect(noDir).toMatchObject({ code: 'ERR_CONTAINER_START' });
    expect((noDir as Error).message).toMatch(/exit 125.*nonexistent-akt/);
    const noProgram = await startContainer({ ...base, command: ['akt-no-such-program'] }).catch(
      (e: unknown) => e,
    );
    expect(noProgram).toMatchObject({ code: 'ERR_CONTAINER_START' });
    expect((noProgram as Error).message).toContain('executable file not found in $PATH: akt-no-such-program');
    expect(existsSync('/opt/akt-klr')).toBe(false);
    expect(await readFile(base.logPath, 'utf8')).toBe(''); // launcher errors never reach the container log
  });

  it('leaves the host as it was', async () => {
    await Promise.all(handles.map((h) => h.stop(0)));
    for (const s of sandboxes.splice(0)) await removeSandbox(s);
    await run('ip', ['netns', 'delete', NODE]);
    const after = await hostState(PREFIX);
    expect(after.netns).toEqual(before.netns);
    expect(after.etcNetns?.filter((e) => e.startsWith(PREFIX)) ?? []).toEqual([]);
    expect(after.mountPoints.filter((m) => m.includes('akt-klr') || m.includes(work))).toEqual([]);
    expect(await processesMentioning([TAG, NODE])).toEqual([]);
    for (const p of FRESH) expect(existsSync(p), p).toBe(false);
  });
});
