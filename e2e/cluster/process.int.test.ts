import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ClusterError } from './errors.ts';
import { launch } from './process.ts';
import { waitReady } from './readiness.ts';
import { reapStale, writePidFile } from './stale.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'process-test-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Running, as opposed to gone or a zombie (an orphan waits for pid 1 to reap it, which may take a while). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
}

async function readPid(path: string): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const text = await readFile(path, 'utf8').catch(() => '');
    if (text.trim() !== '') return Number.parseInt(text, 10);
    await sleep(50);
  }
  throw new Error(`no pid in ${path}`);
}

describe('launch', () => {
  it('logs output and stops the whole process group, grandchildren included', async () => {
    const pidPath = join(dir, 'grandchild.pid');
    const logPath = join(dir, 'sh.log');
    const proc = await launch({
      name: 'sh',
      bin: '/bin/sh',
      // The shell ignores SIGTERM while it waits, so stop() must escalate to SIGKILL for the group.
      args: ['-c', `trap '' TERM; echo hello; sleep 300 & echo $! > ${pidPath}; wait`],
      logPath,
    });
    const grandchild = await readPid(pidPath);
    expect(alive(grandchild)).toBe(true);
    await proc.stop(300);
    expect(proc.running).toBe(false);
    expect(alive(proc.pid)).toBe(false);
    await vi.waitFor(() => expect(alive(grandchild)).toBe(false), { timeout: 2_000 });
    expect(await readFile(logPath, 'utf8')).toMatch(/^=== .* \/bin\/sh -c .*\nhello\n/);
  });

  it('rejects when the binary does not exist', async () => {
    await expect(
      launch({ name: 'nope', bin: join(dir, 'nope'), args: [], logPath: join(dir, 'n.log') }),
    ).rejects.toThrow(/cannot start nope/);
  });
});

describe('waitReady', () => {
  it('reports a bind failure as ERR_CLUSTER_PORT_IN_USE with the log tail', async () => {
    const proc = await launch({
      name: 'binder',
      bin: '/bin/sh',
      args: ['-c', 'echo "listen tcp 127.0.0.1:1: bind: address already in use"; exit 1'],
      logPath: join(dir, 'b.log'),
    });
    const err = await waitReady(proc, { probe: () => Promise.resolve(false), timeoutMs: 10_000 }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ClusterError);
    expect((err as ClusterError).code).toBe('ERR_CLUSTER_PORT_IN_USE');
    expect((err as ClusterError).message).toMatch(/binder .* exited \(code 1\)[\s\S]*address already in use/);
  });

  it('times out with ERR_CLUSTER_READY_TIMEOUT and stops nothing itself', async () => {
    const proc = await launch({ name: 'idle', bin: '/bin/sleep', args: ['30'], logPath: join(dir, 'i.log') });
    try {
      const err = await waitReady(proc, { probe: () => Promise.resolve(false), timeoutMs: 300 }).catch(
        (e: unknown) => e,
      );
      expect((err as ClusterError).code).toBe('ERR_CLUSTER_READY_TIMEOUT');
      expect((err as ClusterError).message).toContain('not ready after 300 ms');
      expect(proc.running).toBe(true);
    } finally {
      await proc.stop();
    }
  });
});

describe('reapStale', () => {
  it('kills the process groups a dead owner left in a work dir, then removes the dir', async () => {
    const workDir = join(dir, 'work');
    await mkdir(workDir);
    // `$0` carries the work dir into the command line, which is how reapStale recognises its own processes.
    const proc = await launch({
      name: 'orphan',
      bin: '/bin/sh',
      args: ['-c', 'sleep 300', workDir],
      logPath: join(dir, 'o.log'),
    });
    await writePidFile(workDir, 'orphan', proc.pid);
    await writePidFile(workDir, 'stranger', process.pid); // a live pid that is not ours must survive
    await reapStale(workDir);
    await proc.exited;
    expect(proc.exitInfo?.signal).toBe('SIGKILL');
    expect(existsSync(workDir)).toBe(false);
  });
});
