import { describe, expect, it } from 'vitest';
import { dumpRecords } from './dump.ts';
import { policy, service, state, workload } from './testing/records.ts';
import { parseStaticConfig, StaticConfigError } from './static-config.ts';

describe('parseStaticConfig', () => {
  const original = state({
    workloads: [workload('sleep', { addresses: ['10.244.1.5'] })],
    services: [service('web', { vips: ['10.96.0.10'] })],
    policies: [policy('default/allow', 'Allow', [{ principals: ['cluster.local/ns/default/sa/sleep'] }])],
  });

  it('loads what a config dump holds, record for record', () => {
    const text = JSON.stringify(dumpRecords(original));
    const { state: loaded, rejected } = parseStaticConfig(text, 'dump.json');
    expect(rejected).toEqual([]);
    expect(dumpRecords(loaded)).toEqual(dumpRecords(original));
    expect(loaded.version).toMatch(/^file-[0-9a-f]{12}$/);
  });

  it('rejects a bad record alone, naming it, and keeps the rest', () => {
    const dump = dumpRecords(original);
    const text = JSON.stringify({
      ...dump,
      workloads: [...dump.workloads, { uid: 'broken', addresses: 'x' }],
    });
    const { state: loaded, rejected } = parseStaticConfig(text, 'dump.json');
    expect(rejected.map((r) => [r.kind, r.id])).toEqual([['Workload', 'broken']]);
    expect(loaded.workloads.size).toBe(1);
  });

  it('names the file when it is not a config at all', () => {
    expect(() => parseStaticConfig('[1]', '/etc/ambit/config.json')).toThrow(StaticConfigError);
    expect(() => parseStaticConfig('{', '/etc/ambit/config.json')).toThrow(/config\.json: not JSON/);
  });
});
