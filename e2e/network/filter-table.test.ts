import { describe, expect, it } from 'vitest';
import { planTidy } from './filter-table.ts';
import { parseIptablesSave } from './iptables-save.ts';

const line = (argv: readonly string[]) => argv.join(' ');

describe('planTidy', () => {
  it('removes the markers, then the empty ACCEPT base chains and the table the box made', () => {
    const saved = parseIptablesSave(`*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:AMBIT-demo-MADE-TABLE - [0:0]
:AMBIT-demo-MADE-FORWARD - [0:0]
:AMBIT-demo-MADE-OUTPUT - [0:0]
COMMIT
`);
    const tidy = planTidy('demo', saved);
    expect(tidy.commands.map(line)).toEqual([
      'iptables -w -t filter -X AMBIT-demo-MADE-TABLE',
      'iptables -w -t filter -X AMBIT-demo-MADE-FORWARD',
      'iptables -w -t filter -X AMBIT-demo-MADE-OUTPUT',
      'iptables -w -t filter -X FORWARD',
      'iptables -w -t filter -X OUTPUT',
    ]);
    expect(tidy.table).toBe(true);
  });

  it('keeps base chains that gained rules or a DROP policy since, and what the box did not make', () => {
    const saved = parseIptablesSave(`*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
:AMBIT-demo-MADE-FORWARD - [0:0]
:AMBIT-demo-MADE-OUTPUT - [0:0]
-A OUTPUT -j ACCEPT
COMMIT
`);
    const tidy = planTidy('demo', saved);
    expect(tidy.commands.map(line)).toEqual([
      'iptables -w -t filter -X AMBIT-demo-MADE-FORWARD',
      'iptables -w -t filter -X AMBIT-demo-MADE-OUTPUT',
    ]);
    expect(tidy.table).toBe(false);
  });

  it('does nothing without markers (legacy backend, or a host that already had the table)', () => {
    const saved = parseIptablesSave(
      '*filter\n:FORWARD ACCEPT [0:0]\n:AMBIT-other-MADE-TABLE - [0:0]\nCOMMIT\n',
    );
    expect(planTidy('demo', saved)).toEqual({ commands: [], table: false });
  });
});
