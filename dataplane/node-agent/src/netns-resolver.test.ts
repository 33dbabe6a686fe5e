// Netns discovery: by the uid-derived name (the box's runtime), and by the pod IP through /proc (any runtime).
// The /proc tree here is a stand-in made of files: a netns file and a process's ns/net share an inode through a
// hard link, as the kernel's nsfs makes them share one.
import { linkSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { firstResolver, localAddresses, procNetnsResolver, uidNetnsResolver } from './netns-resolver.ts';

const FIB_TRIE = (ip: string) => `Main:
  +-- 0.0.0.0/0 3 0 5
     |-- 0.0.0.0
        /0 universe UNICAST
     +-- 10.244.1.0/24 2 0 2
        |-- 10.244.1.0
           /24 link UNICAST
        |-- ${ip}
           /32 host LOCAL
     |-- 127.0.0.1
        /32 host LOCAL
`;

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function host(pods: Record<string, { pid: number; ip: string }>) {
  const root = mkdtempSync(join(tmpdir(), 'netns-resolver-'));
  dirs.push(root);
  const netnsDir = join(root, 'netns');
  const procDir = join(root, 'proc');
  mkdirSync(netnsDir);
  for (const [name, { pid, ip }] of Object.entries(pods)) {
    mkdirSync(join(procDir, String(pid), 'ns'), { recursive: true });
    mkdirSync(join(procDir, String(pid), 'net'), { recursive: true });
    writeFileSync(join(procDir, String(pid), 'ns', 'net'), '');
    writeFileSync(join(procDir, String(pid), 'net', 'fib_trie'), FIB_TRIE(ip));
    linkSync(join(procDir, String(pid), 'ns', 'net'), join(netnsDir, name));
  }
  // A host process in no pod netns.
  mkdirSync(join(procDir, '1', 'ns'), { recursive: true });
  writeFileSync(join(procDir, '1', 'ns', 'net'), '');
  mkdirSync(join(procDir, 'self'), { recursive: true });
  return { netnsDir, procDir };
}

describe('localAddresses', () => {
  it('lists the /32 host LOCAL addresses of a fib_trie, without loopback', () => {
    expect(localAddresses(FIB_TRIE('10.244.1.7'))).toEqual(['10.244.1.7']);
  });
});

describe('procNetnsResolver', () => {
  it('finds the netns file of the namespace holding the pod IP, whatever the runtime named it', () => {
    const h = host({
      'cni-1f2e': { pid: 4001, ip: '10.244.1.7' },
      'cni-9a8b': { pid: 4002, ip: '10.244.1.8' },
    });
    const r = procNetnsResolver(h);
    const pod = { uid: 'u', namespace: 'n', name: 'p' };
    expect(r.resolve({ ...pod, ips: ['10.244.1.8'] })).toBe(join(h.netnsDir, 'cni-9a8b'));
    expect(r.resolve({ ...pod, ips: ['10.244.1.7'] })).toBe(join(h.netnsDir, 'cni-1f2e'));
    expect(r.resolve({ ...pod, ips: ['10.244.1.99'] })).toBeUndefined();
    expect(r.resolve(pod)).toBeUndefined();
  });

  it('never answers from what it saw before: a namespace gone and an IP reused point to the new pod', () => {
    const h = host({ old: { pid: 5001, ip: '10.244.1.7' } });
    const r = procNetnsResolver(h);
    const pod = { uid: 'u', namespace: 'n', name: 'p', ips: ['10.244.1.7'] };
    expect(r.resolve(pod)).toBe(join(h.netnsDir, 'old'));
    rmSync(join(h.netnsDir, 'old'));
    rmSync(join(h.procDir, '5001'), { recursive: true });
    mkdirSync(join(h.procDir, '5002', 'ns'), { recursive: true });
    mkdirSync(join(h.procDir, '5002', 'net'), { recursive: true });
    writeFileSync(join(h.procDir, '5002', 'ns', 'net'), '');
    writeFileSync(join(h.procDir, '5002', 'net', 'fib_trie'), FIB_TRIE('10.244.1.7'));
    linkSync(join(h.procDir, '5002', 'ns', 'net'), join(h.netnsDir, 'new'));
    expect(r.resolve(pod)).toBe(join(h.netnsDir, 'new'));
  });

  it('comes after the uid-named lookup, which needs no /proc walk', () => {
    const h = host({
      'kpod-0123456789ab': { pid: 6001, ip: '10.244.1.9' },
      'cni-x': { pid: 6002, ip: '10.244.1.10' },
    });
    const r = firstResolver(uidNetnsResolver({ dir: h.netnsDir, prefix: 'kpod-' }), procNetnsResolver(h));
    expect(r.resolve({ uid: '01234567-89ab-cdef', namespace: 'n', name: 'a', ips: [] })).toBe(
      join(h.netnsDir, 'kpod-0123456789ab'),
    );
    expect(r.resolve({ uid: 'ffffffff-ffff-ffff', namespace: 'n', name: 'b', ips: ['10.244.1.10'] })).toBe(
      join(h.netnsDir, 'cni-x'),
    );
  });
});
