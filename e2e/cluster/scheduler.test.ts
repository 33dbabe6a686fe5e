import { describe, expect, it } from 'vitest';
import { pkiPaths } from './pki-files.ts';
import { schedulerArgs } from './scheduler.ts';
import { flags } from './testing/flags.ts';

describe('schedulerArgs', () => {
  const f = flags(
    schedulerArgs({ kubeconfig: '/w/scheduler.kubeconfig', securePort: 10259, pki: pkiPaths('/w/pki') }),
  );

  it('talks to the apiserver as itself and delegates authn/authz of its own port to it', () => {
    expect(f.get('--kubeconfig')).toBe('/w/scheduler.kubeconfig');
    expect(f.get('--authentication-kubeconfig')).toBe('/w/scheduler.kubeconfig');
    expect(f.get('--authorization-kubeconfig')).toBe('/w/scheduler.kubeconfig');
  });

  it('serves /healthz on loopback with a cert from the cluster CA', () => {
    expect(f.get('--bind-address')).toBe('127.0.0.1');
    expect(f.get('--secure-port')).toBe('10259');
    expect(f.get('--tls-cert-file')).toBe('/w/pki/kube-scheduler.crt');
    expect(f.get('--tls-private-key-file')).toBe('/w/pki/kube-scheduler.key');
  });

  it('schedules without leader election', () => {
    expect(f.get('--leader-elect')).toBe('false');
  });
});
