// Test-only: certificates from the real mesh CA in-process (no gRPC, no token), as the control plane would issue
// them, in the shape the waypoint and the HBONE library take. Never imported by production code.
import { createRoot, issueWorkloadCertificate, loadRoot, parseSpiffeId } from '@ambit/operator/ca';
import type { WorkloadTlsMaterial } from '@ambit/hbone';
import { createKeyAndCsr } from '@ambit/ztunnel';
import type { WaypointCertificates } from '../proxy/waypoint.ts';

export interface TestIdentity extends WorkloadTlsMaterial {
  readonly identity: string;
}

export interface TestCa {
  readonly rootPem: string;
  issue(identity: string): Promise<TestIdentity>;
  /** A certificate source for a Waypoint, issuing on first use. */
  certificates(): WaypointCertificates;
}

export async function testCa(trustDomain = 'cluster.local'): Promise<TestCa> {
  const root = await createRoot({ trustDomain, ttlMs: 86_400_000, now: new Date() });
  const signing = await loadRoot(root);
  const issue = async (identity: string): Promise<TestIdentity> => {
    const { keyPem, csrPem } = await createKeyAndCsr(identity);
    const cert = await issueWorkloadCertificate(signing, {
      csrPem,
      identity: parseSpiffeId(identity),
      ttlMs: 3_600_000,
      now: new Date(),
    });
    const [leaf = '', ...chain] = cert.chainPem;
    return { identity, cert: leaf, key: keyPem, chain, trustBundle: [root.certPem] };
  };
  return {
    rootPem: root.certPem,
    issue,
    certificates: () => {
      const held = new Map<string, TestIdentity>();
      return {
        get: async (id) => {
          let m = held.get(id);
          if (!m) held.set(id, (m = await issue(id)));
          return m;
        },
        peek: (id) => held.get(id),
      };
    },
  };
}
