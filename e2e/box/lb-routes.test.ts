import { describe, expect, it } from 'vitest';
import { pool } from './lb-pool.ts';
import { lbRouteArgv, lbRouteCommands, lbRouteRemovals } from './lb-routes.ts';

describe('pool routes on the host', () => {
  it('go via the only node, or ECMP over every node', () => {
    expect(lbRouteArgv('172.30.0.200/29', 'aboxbr0', ['172.30.0.10'])).toEqual([
      'ip',
      'route',
      'replace',
      '172.30.0.200/29',
      'via',
      '172.30.0.10',
      'dev',
      'aboxbr0',
    ]);
    expect(lbRouteArgv('172.30.0.200/29', 'aboxbr0', ['172.30.0.10', '172.30.0.11'])).toEqual([
      'ip',
      'route',
      'replace',
      '172.30.0.200/29',
      'nexthop',
      'via',
      '172.30.0.10',
      'dev',
      'aboxbr0',
      'nexthop',
      'via',
      '172.30.0.11',
      'dev',
      'aboxbr0',
    ]);
    expect(() => lbRouteArgv('172.30.0.200/29', 'aboxbr0', [])).toThrow(RangeError);
  });

  it('cover the pool with one route per prefix, removed by prefix and bridge', () => {
    const p = pool();
    expect(lbRouteCommands(p, 'aboxbr0', ['172.30.0.10']).map((argv) => argv[3])).toEqual([
      '172.30.0.200/29',
      '172.30.0.208/28',
      '172.30.0.224/28',
      '172.30.0.240/29',
      '172.30.0.248/31',
      '172.30.0.250/32',
    ]);
    expect(lbRouteRemovals(p, 'aboxbr0')[0]).toEqual([
      'ip',
      'route',
      'del',
      '172.30.0.200/29',
      'dev',
      'aboxbr0',
    ]);
  });
});
