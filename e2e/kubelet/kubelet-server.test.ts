// Unit tests: the kubelet server's command line and files.
import { describe, expect, it } from 'vitest';
import { kubeletServerArgv, kubeletServerFiles } from './kubelet-server.ts';

describe('kubeletServerArgv', () => {
  it('runs the server in the node netns on the node IP and the kubelet port, naming its files', () => {
    const options = {
      bin: '/cache/kubelet-server',
      certPem: '',
      keyPem: '',
      clientCaPem: '',
      allowedClients: ['kube-apiserver-kubelet-client'],
    };
    expect(
      kubeletServerArgv(options, { netns: 'box-node-0', ip: '172.30.0.10' }, '/w', '/usr/sbin/ip'),
    ).toEqual({
      file: '/usr/sbin/ip',
      args: [
        'netns',
        'exec',
        'box-node-0',
        '/cache/kubelet-server',
        '--listen=172.30.0.10:10250',
        '--tls-cert-file=/w/pki/kubelet.crt',
        '--tls-private-key-file=/w/pki/kubelet.key',
        '--client-ca-file=/w/pki/client-ca.crt',
        '--allowed-client=kube-apiserver-kubelet-client',
        '--runtime-socket=/w/runtime.sock',
      ],
    });
    expect(
      kubeletServerArgv({ ...options, port: 11250 }, { netns: 'n', ip: '10.0.0.1' }, '/w').args,
    ).toContain('--listen=10.0.0.1:11250');
    expect(kubeletServerFiles('/w').socket).toBe('/w/runtime.sock');
  });
});
