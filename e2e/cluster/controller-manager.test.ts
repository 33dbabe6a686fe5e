import { describe, expect, it } from 'vitest';
import { CLUSTER_CIDR, controllerManagerArgs } from './controller-manager.ts';
import { pkiPaths } from './pki-files.ts';
import { flags } from './testing/flags.ts';

describe('controllerManagerArgs', () => {
  const f = flags(
    controllerManagerArgs({
      kubeconfig: '/w/controller-manager.kubeconfig',
      securePort: 10257,
      pki: pkiPaths('/w/pki'),
      flexVolumeDir: '/w/flexvolume',
    }),
  );

  it('talks to the apiserver as itself and delegates authn/authz of its own port to it', () => {
    expect(f.get('--kubeconfig')).toBe('/w/controller-manager.kubeconfig');
    expect(f.get('--authentication-kubeconfig')).toBe('/w/controller-manager.kubeconfig');
    expect(f.get('--authorization-kubeconfig')).toBe('/w/controller-manager.kubeconfig');
    expect(f.get('--client-ca-file')).toBe('/w/pki/ca.crt');
    expect(f.get('--requestheader-client-ca-file')).toBe('/w/pki/front-proxy-ca.crt');
  });

  it('serves /healthz on loopback with a cert from the cluster CA', () => {
    expect(f.get('--bind-address')).toBe('127.0.0.1');
    expect(f.get('--secure-port')).toBe('10257');
    expect(f.get('--tls-cert-file')).toBe('/w/pki/kube-controller-manager.crt');
    expect(f.get('--tls-private-key-file')).toBe('/w/pki/kube-controller-manager.key');
  });

  it('runs each controller as its own service account and fills in tokens and the root CA', () => {
    expect(f.get('--use-service-account-credentials')).toBe('true');
    expect(f.get('--service-account-private-key-file')).toBe('/w/pki/sa.key');
    expect(f.get('--root-ca-file')).toBe('/w/pki/ca.crt');
  });

  it('signs CSRs with the cluster CA', () => {
    expect(f.get('--cluster-signing-cert-file')).toBe('/w/pki/ca.crt');
    expect(f.get('--cluster-signing-key-file')).toBe('/w/pki/ca.key');
  });

  it('allocates a /24 of 10.244.0.0/16 per node and knows the service range', () => {
    expect(CLUSTER_CIDR).toBe('10.244.0.0/16');
    expect(f.get('--allocate-node-cidrs')).toBe('true');
    expect(f.get('--cluster-cidr')).toBe('10.244.0.0/16');
    expect(f.get('--node-cidr-mask-size')).toBe('24');
    expect(f.get('--service-cluster-ip-range')).toBe('10.96.0.0/16');
  });

  it('runs every default controller plus the bootstrap-token ones, without leader election', () => {
    expect(f.get('--controllers')).toBe('*,bootstrapsigner,tokencleaner');
    expect(f.get('--leader-elect')).toBe('false');
  });

  it('keeps flex volume plugins in the work dir, off the host', () => {
    expect(f.get('--flex-volume-plugin-dir')).toBe('/w/flexvolume');
  });

  it('mentions no address but loopback', () => {
    const all = [...f.values()].join(' ');
    expect(all).not.toMatch(/0\.0\.0\.0/);
  });
});
