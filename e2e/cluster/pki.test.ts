import { X509Certificate, createPrivateKey, createPublicKey, sign, verify } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { x509 } from './x509.ts';
import {
  apiserverServing,
  createClusterPki,
  issueClientCert,
  nodeIdentity,
  type CertAndKey,
  type ClusterPki,
} from './pki.ts';

let pki: ClusterPki;
beforeAll(async () => {
  pki = await createClusterPki();
});

const node = (pem: string): X509Certificate => new X509Certificate(pem);
const peculiar = (pem: string): x509.X509Certificate => new x509.X509Certificate(pem);

function keyUsage(pem: string): number | undefined {
  return peculiar(pem).getExtension(x509.KeyUsagesExtension)?.usages;
}

function extendedKeyUsage(pem: string): readonly string[] | undefined {
  return peculiar(pem).getExtension(x509.ExtendedKeyUsageExtension)?.usages.map(String);
}

describe('cluster CA', () => {
  it('is a self-signed CA allowed to sign certificates', async () => {
    const ca = node(pki.ca.certPem);
    expect(ca.ca).toBe(true);
    expect(ca.checkIssued(ca)).toBe(true);
    expect(ca.verify(ca.publicKey)).toBe(true);
    expect(keyUsage(pki.ca.certPem)! & x509.KeyUsageFlags.keyCertSign).toBeTruthy();
    expect(await peculiar(pki.ca.certPem).isSelfSigned()).toBe(true);
  });
});

describe('apiserver serving cert', () => {
  it('names every address clients use for the apiserver', () => {
    const sans = node(pki.apiserver.certPem).subjectAltName?.split(', ') ?? [];
    expect(sans).toEqual(
      expect.arrayContaining([
        'DNS:localhost',
        'DNS:kubernetes',
        'DNS:kubernetes.default',
        'DNS:kubernetes.default.svc',
        'DNS:kubernetes.default.svc.cluster.local',
        'IP Address:127.0.0.1',
        'IP Address:10.96.0.1',
      ]),
    );
    expect(node(pki.apiserver.certPem).checkHost('kubernetes.default.svc')).toBe('kubernetes.default.svc');
    expect(node(pki.apiserver.certPem).checkIP('127.0.0.1')).toBe('127.0.0.1');
  });

  it('is issued by the CA, for serverAuth only, and matches its key', () => {
    const cert = node(pki.apiserver.certPem);
    expect(cert.ca).toBe(false);
    expect(cert.checkIssued(node(pki.ca.certPem))).toBe(true);
    expect(cert.verify(node(pki.ca.certPem).publicKey)).toBe(true);
    expect(cert.checkPrivateKey(createPrivateKey(pki.apiserver.keyPem))).toBe(true);
    expect(extendedKeyUsage(pki.apiserver.certPem)).toEqual([x509.ExtendedKeyUsage.serverAuth]);
    expect(keyUsage(pki.apiserver.certPem)).toBe(x509.KeyUsageFlags.digitalSignature);
  });

  it('carries an authority key id equal to the CA subject key id', () => {
    const aki = peculiar(pki.apiserver.certPem).getExtension(x509.AuthorityKeyIdentifierExtension)?.keyId;
    const ski = peculiar(pki.ca.certPem).getExtension(x509.SubjectKeyIdentifierExtension)?.keyId;
    expect(aki).toBeDefined();
    expect(aki).toBe(ski);
  });

  it('chains to the CA with @peculiar/x509 path building', async () => {
    const chain = await new x509.X509ChainBuilder({ certificates: [peculiar(pki.ca.certPem)] }).build(
      peculiar(pki.apiserver.certPem),
    );
    expect(chain.map((c) => c.subject)).toEqual([
      peculiar(pki.apiserver.certPem).subject,
      peculiar(pki.ca.certPem).subject,
    ]);
  });
});

describe('client certs', () => {
  it('makes the admin a member of system:masters', () => {
    const cert = node(pki.admin.certPem);
    expect(cert.subject.split('\n')).toEqual(expect.arrayContaining(['CN=ambit-admin', 'O=system:masters']));
    expect(cert.checkIssued(node(pki.ca.certPem))).toBe(true);
    expect(cert.checkPrivateKey(createPrivateKey(pki.admin.keyPem))).toBe(true);
    expect(extendedKeyUsage(pki.admin.certPem)).toEqual([x509.ExtendedKeyUsage.clientAuth]);
  });

  it('mints node identities with several orgs on demand', async () => {
    const kubelet = await issueClientCert(pki.ca, nodeIdentity('node-1'));
    expect(node(kubelet.certPem).subject.split('\n')).toEqual(
      expect.arrayContaining(['CN=system:node:node-1', 'O=system:nodes']),
    );
    const multi = await issueClientCert(pki.ca, { cn: 'someone', orgs: ['a', 'b'] });
    expect(node(multi.certPem).subject.split('\n')).toEqual(
      expect.arrayContaining(['CN=someone', 'O=a', 'O=b']),
    );
    expect(node(multi.certPem).verify(node(pki.ca.certPem).publicKey)).toBe(true);
  });

  it('gives every certificate its own positive serial', () => {
    const serials = [pki.ca, pki.apiserver, pki.admin].map((c) => node(c.certPem).serialNumber);
    expect(new Set(serials).size).toBe(3);
    for (const s of serials) {
      expect(s).toHaveLength(32); // 16 bytes, no leading zero byte dropped or added
      expect(Number.parseInt(s.slice(0, 2), 16)).toBeLessThan(0x80);
    }
  });
});

describe('serial numbers', () => {
  it('are always 16 minimal DER bytes (Go rejects a leading zero byte), over many certs', async () => {
    const certs = await Promise.all(Array.from({ length: 64 }, () => issueClientCert(pki.ca, { cn: 'x' })));
    for (const c of certs) expect(node(c.certPem).serialNumber).toMatch(/^[0-7][0-9A-F]{31}$/);
  });
});

describe('service-account keys', () => {
  it('is a matching P-256 key pair in PEM', () => {
    const priv = createPrivateKey(pki.serviceAccount.privateKeyPem);
    const pub = createPublicKey(pki.serviceAccount.publicKeyPem);
    expect(priv.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    const data = Buffer.from('token');
    expect(verify('sha256', data, pub, sign('sha256', data, priv))).toBe(true);
    expect(pki.serviceAccount.privateKeyPem).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    expect(pki.serviceAccount.publicKeyPem).toMatch(/^-----BEGIN PUBLIC KEY-----/);
  });
});

describe('control-plane component certs', () => {
  const subject = (c: CertAndKey): string[] => node(c.certPem).subject.split('\n');
  const issuedBy = (c: CertAndKey, ca: CertAndKey): boolean =>
    node(c.certPem).checkIssued(node(ca.certPem)) && node(c.certPem).verify(node(ca.certPem).publicKey);

  it('names the controller-manager and scheduler as kubeadm does, so the built-in RBAC bindings apply', () => {
    expect(subject(pki.controllerManager)).toEqual(['CN=system:kube-controller-manager']);
    expect(subject(pki.scheduler)).toEqual(['CN=system:kube-scheduler']);
    for (const c of [pki.controllerManager, pki.scheduler]) {
      expect(issuedBy(c, pki.ca)).toBe(true);
      expect(extendedKeyUsage(c.certPem)).toEqual([x509.ExtendedKeyUsage.clientAuth]);
      expect(node(c.certPem).checkPrivateKey(createPrivateKey(c.keyPem))).toBe(true);
    }
  });

  it('gives the apiserver a system:masters client cert towards kubelets', () => {
    expect(subject(pki.apiserverKubeletClient)).toEqual(
      expect.arrayContaining(['CN=kube-apiserver-kubelet-client', 'O=system:masters']),
    );
    expect(issuedBy(pki.apiserverKubeletClient, pki.ca)).toBe(true);
    expect(extendedKeyUsage(pki.apiserverKubeletClient.certPem)).toEqual([x509.ExtendedKeyUsage.clientAuth]);
  });

  it('issues the front-proxy client from a CA of its own, not the cluster CA', () => {
    expect(node(pki.frontProxyCa.certPem).ca).toBe(true);
    expect(node(pki.frontProxyCa.certPem).subject).toBe('CN=front-proxy-ca');
    expect(subject(pki.frontProxyClient)).toEqual(['CN=front-proxy-client']);
    expect(issuedBy(pki.frontProxyClient, pki.frontProxyCa)).toBe(true);
    expect(issuedBy(pki.frontProxyClient, pki.ca)).toBe(false);
  });

  it('serves the controller-manager and scheduler ports on loopback only', () => {
    for (const c of [pki.controllerManagerServing, pki.schedulerServing]) {
      expect(node(c.certPem).subjectAltName).toBe('DNS:localhost, IP Address:127.0.0.1');
      expect(issuedBy(c, pki.ca)).toBe(true);
      expect(extendedKeyUsage(c.certPem)).toEqual([x509.ExtendedKeyUsage.serverAuth]);
    }
  });
});

describe('apiserver bind address', () => {
  it('adds a non-loopback bind address to the serving cert', async () => {
    const other = await createClusterPki({ bindAddress: '172.30.0.1' });
    const cert = node(other.apiserver.certPem);
    expect(cert.checkIP('172.30.0.1')).toBe('172.30.0.1');
    expect(cert.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(cert.checkIP('10.96.0.1')).toBe('10.96.0.1');
  });

  it('does not repeat an address already in the cert', () => {
    expect(apiserverServing('127.0.0.1').ips).toEqual(['127.0.0.1', '10.96.0.1']);
    expect(apiserverServing('172.30.0.1').ips).toEqual(['127.0.0.1', '10.96.0.1', '172.30.0.1']);
  });
});
