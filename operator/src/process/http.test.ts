import { describe, expect, it } from 'vitest';
import { metricsText } from './http.ts';

const base = {
  ready: () => true,
  leader: () => true,
  writes: () => ({ applied: 3, deleted: 1 }),
};

describe('metricsText', () => {
  it('reports leadership and writes', () => {
    const text = metricsText(base);
    expect(text).toContain('ambit_operator_leader 1\n');
    expect(text).toContain('ambit_operator_writes_total{op="apply"} 3\n');
    expect(text).not.toContain('ambit_config_');
  });

  it('adds the config channel counters once the control plane serves', () => {
    const text = metricsText({
      ...base,
      config: () => ({ subscribers: 2, pushes: { full: 2, delta: 7 }, acks: 8, nacks: 1 }),
    });
    expect(text).toContain('ambit_config_subscribers 2\n');
    expect(text).toContain('ambit_config_pushes_total{type="full"} 2\n');
    expect(text).toContain('ambit_config_pushes_total{type="delta"} 7\n');
    expect(text).toContain('ambit_config_acks_total 8\n');
    expect(text).toContain('ambit_config_nacks_total 1\n');
    // Every sample has its HELP and TYPE (Prometheus text format).
    for (const name of [
      'ambit_config_subscribers',
      'ambit_config_pushes_total',
      'ambit_config_nacks_total',
    ]) {
      expect(text).toContain(`# TYPE ${name} `);
      expect(text).toContain(`# HELP ${name} `);
    }
  });
});
