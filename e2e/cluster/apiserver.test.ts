import { describe, expect, it } from 'vitest';
import { apiserverArgs, apiserverUrl } from './apiserver.ts';
import { pkiPaths } from './pki-files.ts';
import { flags } from './testing/flags.ts';

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

  it('admits kubelets only to their own node and pods', () => {
    expect(f.get('--enable-admission-plugins')).toBe('NodeRestriction');
  });

  it('reaches kubelets with its own client cert, at their InternalIP, checking them against the cluster CA', () => {
    expect(f.get('--kubelet-client-certificate')).toBe('/w/pki/apiserver-kubelet-client.crt');
    expect(f.get('--kubelet-client-key')).toBe('/w/pki/apiserver-kubelet-client.key');
    expect(f.get('--kubelet-certificate-authority')).toBe('/w/pki/ca.crt');
    expect(f.get('--kubelet-preferred-address-types')).toBe('InternalIP');
  });

  it('sets up the aggregation layer with the front-proxy CA, as kubeadm does', () => {
    expect(f.get('--proxy-client-cert-file')).toBe('/w/pki/front-proxy-client.crt');
    expect(f.get('--proxy-client-key-file')).toBe('/w/pki/front-proxy-client.key');
    expect(f.get('--requestheader-client-ca-file')).toBe('/w/pki/front-proxy-ca.crt');
    expect(f.get('--requestheader-allowed-names')).toBe('front-proxy-client');
    expect(f.get('--requestheader-extra-headers-prefix')).toBe('X-Remote-Extra-');
    expect(f.get('--requestheader-group-headers')).toBe('X-Remote-Group');
    expect(f.get('--requestheader-username-headers')).toBe('X-Remote-User');
  });

  it('binds and advertises another address when told', () => {
    const g = flags(
      apiserverArgs({
        etcdUrl: 'http://127.0.0.1:2379',
        bindAddress: '172.30.0.1',
        securePort: 6443,
        certDir: '/w/certs',
        pki: pkiPaths('/w/pki'),
      }),
    );
    expect(g.get('--bind-address')).toBe('172.30.0.1');
    expect(g.get('--advertise-address')).toBe('172.30.0.1');
  });

  it('gives the https url clients use', () => {
    expect(apiserverUrl(6443)).toBe('https://127.0.0.1:6443');
    expect(apiserverUrl(6443, '172.30.0.1')).toBe('https://172.30.0.1:6443');
  });
});
