import { describe, expect, it } from 'vitest';
import { apiserverArgs, apiserverUrl } from './apiserver.ts';
import { pkiPaths } from './pki-files.ts';

/** Flag name → value, failing on a repeated flag (the apiserver would take the last one silently). */
function flags(args: readonly string[]): Map<string, string> {
  const map = new Map<string, string>();
  for (const arg of args) {
    const [name = '', ...rest] = arg.split('=');
    expect(map.has(name), `${name} repeated`).toBe(false);
    map.set(name, rest.join('='));
  }
  return map;
}

describe('apiserverArgs', () => {
  const f = flags(
    apiserverArgs({
      etcdUrl: 'http://127.0.0.1:2379',
      securePort: 6443,
      certDir: '/w/certs',
      pki: pkiPaths('/w/pki'),
    }),
  );

  it('listens on loopback and stores in the given etcd', () => {
    expect(f.get('--etcd-servers')).toBe('http://127.0.0.1:2379');
    expect(f.get('--bind-address')).toBe('127.0.0.1');
    expect(f.get('--advertise-address')).toBe('127.0.0.1');
    expect(f.get('--secure-port')).toBe('6443');
    expect(f.get('--cert-dir')).toBe('/w/certs');
  });

  it('serves our certs and trusts our CA for clients', () => {
    expect(f.get('--tls-cert-file')).toBe('/w/pki/apiserver.crt');
    expect(f.get('--tls-private-key-file')).toBe('/w/pki/apiserver.key');
    expect(f.get('--client-ca-file')).toBe('/w/pki/ca.crt');
  });

  it('issues and checks service-account tokens like a real cluster', () => {
    expect(f.get('--service-account-issuer')).toBe('https://kubernetes.default.svc.cluster.local');
    expect(f.get('--api-audiences')).toBe('https://kubernetes.default.svc.cluster.local');
    expect(f.get('--service-account-key-file')).toBe('/w/pki/sa.pub');
    expect(f.get('--service-account-signing-key-file')).toBe('/w/pki/sa.key');
  });

  it('authorizes with Node and RBAC in the 10.96/16 service range', () => {
    expect(f.get('--authorization-mode')).toBe('Node,RBAC');
    expect(f.get('--service-cluster-ip-range')).toBe('10.96.0.0/16');
    expect(f.get('--allow-privileged')).toBe('true');
    expect(f.get('--enable-priority-and-fairness')).toBe('false');
  });

  it('gives the https url clients use', () => {
    expect(apiserverUrl(6443)).toBe('https://127.0.0.1:6443');
  });
});
