import { describe, expect, it } from 'vitest';
import { etcdArgs, etcdClientUrl } from './etcd.ts';

describe('etcdArgs', () => {
  const args = etcdArgs({ dataDir: '/w/etcd-data', clientPort: 2379, peerPort: 2380 });

  it('serves clients and peers on loopback only', () => {
    expect(args).toContain('--listen-client-urls=http://127.0.0.1:2379');
    expect(args).toContain('--advertise-client-urls=http://127.0.0.1:2379');
    expect(args).toContain('--listen-peer-urls=http://127.0.0.1:2380');
    expect(args).toContain('--initial-advertise-peer-urls=http://127.0.0.1:2380');
    expect(args).toContain('--initial-cluster=default=http://127.0.0.1:2380');
    expect(args.join(' ')).not.toMatch(/0\.0\.0\.0|localhost/);
  });

  it('is a fast throwaway member in its own data dir', () => {
    expect(args).toEqual(
      expect.arrayContaining(['--data-dir=/w/etcd-data', '--unsafe-no-fsync', '--log-level=warn']),
    );
  });

  it('uses the member name in the initial cluster', () => {
    expect(etcdArgs({ name: 'm1', dataDir: '/d', clientPort: 1, peerPort: 2 })).toEqual(
      expect.arrayContaining(['--name=m1', '--initial-cluster=m1=http://127.0.0.1:2']),
    );
  });

  it('gives the client url the apiserver dials', () => {
    expect(etcdClientUrl(32379)).toBe('http://127.0.0.1:32379');
  });
});
