import { describe, expect, it } from 'vitest';
import { findConflicts } from './conflicts.ts';

const RANGES = ['172.30.0.0/24', '10.244.0.0/16', '10.96.0.0/16'];

const addrs = (...entries: [string, string][]) =>
  JSON.stringify(
    entries.map(([ifname, local]) => ({ ifname, addr_info: [{ family: 'inet', local, prefixlen: 24 }] })),
  );

describe('findConflicts', () => {
  it('reports addresses and routes inside the box ranges', () => {
    const conflicts = findConflicts(
      addrs(['eth0', '192.0.2.2'], ['otherbr0', '172.30.0.1']),
      JSON.stringify([
        { dst: 'default', dev: 'eth0' },
        { dst: '10.244.3.0/24', dev: 'otherbr0' },
        { dst: '10.96.0.10', dev: 'eth0' },
      ]),
      RANGES,
    );
    expect(conflicts).toEqual([
      'address 172.30.0.1 on otherbr0 is inside 172.30.0.0/24',
      'route 10.244.3.0/24 dev otherbr0 is inside 10.244.0.0/16',
      'route 10.96.0.10 dev eth0 is inside 10.96.0.0/16',
    ]);
  });

  it('accepts a host whose networks are elsewhere or wider than the box ranges', () => {
    const routes = JSON.stringify([
      { dst: 'default', dev: 'eth0' },
      { dst: '10.0.0.0/8', dev: 'eth1' },
      { dst: '192.0.2.0/24', dev: 'eth0' },
    ]);
    expect(findConflicts(addrs(['lo', '127.0.0.1'], ['eth1', '10.1.2.3']), routes, RANGES)).toEqual([]);
    expect(findConflicts('', '', RANGES)).toEqual([]);
  });
});
