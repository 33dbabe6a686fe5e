// Unit tests: when kube-proxy's rules in a node netns send cluster DNS over UDP to every CoreDNS pod.
import { describe, expect, it } from 'vitest';
import { dnsProgrammed } from './cluster-dns.ts';

const sep = (proto: 'udp' | 'tcp', ip: string): string =>
  `-A KUBE-SEP-ABC -p ${proto} -m comment --comment "kube-system/kube-dns:dns" -m ${proto} ` +
  `-j DNAT --to-destination ${ip}:53`;

describe('dnsProgrammed', () => {
  it('is true once every pod address has its UDP DNAT rule', () => {
    const nat = ['*nat', sep('udp', '10.244.1.2'), sep('tcp', '10.244.1.2'), 'COMMIT'].join('\n');
    expect(dnsProgrammed(nat, ['10.244.1.2'])).toBe(true);
  });

  it('is false with only the TCP rule, a rule for another address, or no rule', () => {
    expect(dnsProgrammed(sep('tcp', '10.244.1.2'), ['10.244.1.2'])).toBe(false);
    expect(dnsProgrammed(sep('udp', '10.244.1.20'), ['10.244.1.2'])).toBe(false);
    expect(dnsProgrammed(sep('udp', '10.244.1.2'), ['10.244.1.2', '10.244.0.3'])).toBe(false);
    expect(dnsProgrammed('*nat\nCOMMIT', ['10.244.1.2'])).toBe(false);
  });
});
