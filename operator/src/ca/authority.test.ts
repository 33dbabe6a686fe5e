// The CA against independent implementations: node:crypto verifies what it issues, and node:tls completes a real
// mutual TLS 1.3 handshake on loopback with two issued workload certificates.
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { once } from 'node:events';
import { connect, createServer, type TLSSocket } from 'node:tls';
import { describe, expect, it } from 'vitest';
import {
  CaError,
  createRoot,
  crossCertify,
  issueServingCertificate,
  issueWorkloadCertificate,
  loadRoot,
  type SigningCa,
} from './authority.ts';
import { formatSpiffeId, parseSpiffeId, type WorkloadIdentity } from './spiffe.ts';
import { x509 } from './x509.ts';

const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
const now = new Date('2026-11-23T12:00:00Z');
const sleep: WorkloadIdentity = {
  trustDomain: 'cluster.local',
  namespace: 'default',
  serviceAccount: 'sleep',
};
const productpage: WorkloadIdentity = {
  trustDomain: 'cluster.local',
  namespace: 'default',
  serviceAccount: 'bookinfo-productpage',
};

async function keyAndCsr(sans: x509.JsonGeneralName[]) {
  const keys = await globalThis.crypto.subtle.generateKey(alg, true, ['sign', 'verify']);
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: 'O=workload',
    keys,
    signingAlgorithm: alg,
    extensions: sans.length > 0 ? [new x509.SubjectAlternativeNameExtension(sans)] : [],
  });
  const pkcs8 = await globalThis.crypto.subtle.exportKey('pkcs8', keys.privateKey);
  const keyPem = createPrivateKey({ key: Buffer.from(pkcs8), format: 'der', type: 'pkcs8' })
    .export({ type: 'pkcs8', format: 'pem' })
    .toString();
  return { csrPem: csr.toString('pem'), keyPem };
}

let cachedCa: SigningCa | undefined;
async function ca(): Promise<SigningCa> {
  cachedCa ??= await loadRoot(
    await createRoot({ trustDomain: 'cluster.local', ttlMs: 365 * 86_400_000, now }),
  );
  return cachedCa;
}

describe('workload certificates', () => {
  it('carry exactly the SPIFFE URI SAN, verify against the root and expire on time', async () => {
    const root = await ca();
    const { csrPem } = await keyAndCsr([{ type: 'url', value: formatSpiffeId(sleep) }]);
    const issued = await issueWorkloadCertificate(root, { csrPem, identity: sleep, ttlMs: 3_600_000, now });
    const leaf = new X509Certificate(issued.chainPem[0]!);
    const rootCert = new X509Certificate(root.certPem);
    expect(leaf.verify(rootCert.publicKey)).toBe(true);
    expect(leaf.checkIssued(rootCert)).toBe(true);
    expect(leaf.subjectAltName).toBe('URI:spiffe://cluster.local/ns/default/sa/sleep');
    expect(leaf.ca).toBe(false);
    expect(new Date(leaf.validTo).getTime()).toBe(now.getTime() + 3_600_000);
    expect(issued.chainPem[1]).toBe(root.certPem);
  });

  it('are issued for a CSR that names no SAN, with the authorized identity', async () => {
    const { csrPem } = await keyAndCsr([]);
    const issued = await issueWorkloadCertificate(await ca(), {
      csrPem,
      identity: sleep,
      ttlMs: 60_000,
      now,
    });
    expect(new X509Certificate(issued.chainPem[0]!).subjectAltName).toBe(
      'URI:spiffe://cluster.local/ns/default/sa/sleep',
    );
  });

  it('never outlive the root', async () => {
    const shortRoot = await loadRoot(await createRoot({ trustDomain: 'cluster.local', ttlMs: 60_000, now }));
    const { csrPem } = await keyAndCsr([]);
    const issued = await issueWorkloadCertificate(shortRoot, {
      csrPem,
      identity: sleep,
      ttlMs: 86_400_000,
      now,
    });
    expect(issued.notAfter.getTime()).toBe(shortRoot.cert.notAfter.getTime());
  });

  it.each<[string, x509.JsonGeneralName[]]>([
    ['another identity', [{ type: 'url', value: formatSpiffeId(productpage) }]],
    [
      'a DNS name besides the identity',
      [
        { type: 'url', value: formatSpiffeId(sleep) },
        { type: 'dns', value: 'evil.example' },
      ],
    ],
  ])('are refused for a CSR that asks for %s', async (_n, sans) => {
    const { csrPem } = await keyAndCsr(sans);
    await expect(
      issueWorkloadCertificate(await ca(), { csrPem, identity: sleep, ttlMs: 60_000, now }),
    ).rejects.toMatchObject({
      code: 'ERR_CA_CSR',
    });
  });

  it('are refused for a CSR whose signature does not verify', async () => {
    const { csrPem } = await keyAndCsr([]);
    const der = Buffer.from(x509.PemConverter.decodeFirst(csrPem));
    der[der.length - 5]! ^= 0xff; // flip a byte of the signature
    const tampered = x509.PemConverter.encode(der, 'CERTIFICATE REQUEST');
    await expect(
      issueWorkloadCertificate(await ca(), { csrPem: tampered, identity: sleep, ttlMs: 60_000, now }),
    ).rejects.toBeInstanceOf(CaError);
  });

  it('complete a mutual TLS 1.3 handshake in which each side sees the other SPIFFE identity', async () => {
    const root = await ca();
    const material = async (id: WorkloadIdentity) => {
      const { csrPem, keyPem } = await keyAndCsr([]);
      const issued = await issueWorkloadCertificate(root, {
        csrPem,
        identity: id,
        ttlMs: 3_600_000,
        now: new Date(),
      });
      return { cert: issued.chainPem.join(''), key: keyPem };
    };
    const server = createServer({
      ...(await material(productpage)),
      ca: root.certPem,
      requestCert: true,
      rejectUnauthorized: true,
      minVersion: 'TLSv1.3',
    });
    const serverSaw = new Promise<string>((resolve) =>
      server.on('secureConnection', (s: TLSSocket) => {
        resolve(s.getPeerCertificate().subjectaltname ?? '');
        s.end();
      }),
    );
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as { port: number };
    const client = connect({
      ...(await material(sleep)),
      ca: root.certPem,
      host: '127.0.0.1',
      port,
      servername: 'ignored',
      checkServerIdentity: () => undefined,
    });
    await once(client, 'secureConnect');
    expect(client.getProtocol()).toBe('TLSv1.3');
    expect(client.getPeerCertificate().subjectaltname).toBe(
      'URI:spiffe://cluster.local/ns/default/sa/bookinfo-productpage',
    );
    expect(await serverSaw).toBe('URI:spiffe://cluster.local/ns/default/sa/sleep');
    client.destroy();
    server.close();
  });
});

describe('a rotated root', () => {
  it('has a subject of its own, so two roots trusted at once are never confused', async () => {
    const a = await createRoot({ trustDomain: 'cluster.local', ttlMs: 60_000, now });
    const b = await createRoot({ trustDomain: 'cluster.local', ttlMs: 60_000, now });
    expect(new X509Certificate(a.certPem).subject).toMatch(
      /^O=cluster.local\nCN=Ambit mesh root [0-9a-f]{8}$/,
    );
    expect(new X509Certificate(a.certPem).subject).not.toBe(new X509Certificate(b.certPem).subject);
  });

  it.each([
    ['only the old root (it read root-cert.pem before the rotation)', 'old'],
    ['only the new root', 'new'],
    ['both', 'both'],
  ] as const)(
    'serves a chain through its cross-certificate that a client trusting %s accepts',
    async (_name, trusts) => {
      const old = await loadRoot(await createRoot({ trustDomain: 'cluster.local', ttlMs: 86_400_000, now }));
      const fresh = await loadRoot(
        await createRoot({ trustDomain: 'cluster.local', ttlMs: 86_400_000, now }),
      );
      const cross = await crossCertify(fresh.certPem, old, now);
      const crossCert = new X509Certificate(cross);
      expect(crossCert.subject).toBe(new X509Certificate(fresh.certPem).subject);
      expect(crossCert.ca).toBe(true);
      expect(crossCert.verify(new X509Certificate(old.certPem).publicKey)).toBe(true);
      expect(new Date(crossCert.validTo).getTime()).toBeLessThanOrEqual(old.cert.notAfter.getTime());

      const serving = await issueServingCertificate(fresh, {
        dnsNames: ['cp.test'],
        ttlMs: 3_600_000,
        now: new Date(),
      });
      const server = createServer({ cert: [serving.chainPem[0]!, cross].join(''), key: serving.keyPem });
      server.on('secureConnection', (s: TLSSocket) => s.end());
      server.listen(0, '127.0.0.1');
      await once(server, 'listening');
      const { port } = server.address() as { port: number };
      const ca = { old: [old.certPem], new: [fresh.certPem], both: [old.certPem, fresh.certPem] }[trusts];
      const client = connect({ ca, host: '127.0.0.1', port, servername: 'cp.test' });
      try {
        await once(client, 'secureConnect');
        expect(client.authorized).toBe(true);
      } finally {
        client.destroy();
        server.close();
      }
    },
  );
});

describe('loadRoot', () => {
  it('refuses a leaf certificate and a key that does not match', async () => {
    const root = await ca();
    const { csrPem, keyPem } = await keyAndCsr([]);
    const leaf = await issueWorkloadCertificate(root, { csrPem, identity: sleep, ttlMs: 60_000, now });
    await expect(loadRoot({ certPem: leaf.chainPem[0]!, keyPem })).rejects.toThrow('not a CA');
    const other = await createRoot({ trustDomain: 'x', ttlMs: 60_000, now });
    await expect(loadRoot({ certPem: root.certPem, keyPem: other.keyPem })).rejects.toThrow('does not match');
    await expect(loadRoot({ certPem: 'garbage', keyPem: 'garbage' })).rejects.toMatchObject({
      code: 'ERR_CA_ROOT',
    });
  });
});

describe('SPIFFE ids', () => {
  it('round-trip and refuse anything but a workload id', () => {
    expect(parseSpiffeId(formatSpiffeId(sleep))).toEqual(sleep);
    for (const bad of [
      'spiffe://td/ns/a',
      'https://td/ns/a/sa/b',
      'spiffe://td/ns/A/sa/b',
      'spiffe://td/ns/a/sa/b/extra',
      'spiffe://td/ns/a/sa/b?x',
    ]) {
      expect(() => parseSpiffeId(bad)).toThrow('not a workload SPIFFE id');
    }
  });
});
