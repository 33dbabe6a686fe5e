// The mesh CA's signing half: a root (self-signed, or brought by the user) that issues short-lived workload
// certificates carrying exactly one SPIFFE URI SAN. Who may ask for which identity is decided elsewhere.
import { X509Certificate as NodeX509, createPrivateKey, type webcrypto } from 'node:crypto';
import { formatSpiffeId, type WorkloadIdentity } from './spiffe.ts';
import { randomSerial, x509 } from './x509.ts';

const ALGORITHM: webcrypto.EcKeyGenParams & webcrypto.EcdsaParams = {
  name: 'ECDSA',
  namedCurve: 'P-256',
  hash: 'SHA-256',
};
const SUBJECT_ALT_NAME_OID = '2.5.29.17';
/** Accept certificates that start a little before "now", for clock skew between nodes. */
const BACKDATE_MS = 60_000;

export class CaError extends Error {
  readonly code: 'ERR_CA_ROOT' | 'ERR_CA_CSR';
  constructor(code: 'ERR_CA_ROOT' | 'ERR_CA_CSR', message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
  }
}

/** A root that can sign. `certPem` goes into every proxy's trust bundle. */
export interface SigningCa {
  readonly certPem: string;
  readonly cert: x509.X509Certificate;
  readonly key: webcrypto.CryptoKey;
}

export interface PemPair {
  readonly certPem: string;
  readonly keyPem: string;
}

function pkcs8Pem(der: ArrayBuffer): string {
  return x509.PemConverter.encode(der, 'PRIVATE KEY') + '\n';
}

/**
 * A self-signed ECDSA P-256 root for a trust domain. Each root's subject is its own (a generation suffix in the CN):
 * during a rotation two roots are trusted at once, and a chain builder that finds issuers by name must not confuse
 * them.
 */
export async function createRoot(opts: { trustDomain: string; ttlMs: number; now: Date }): Promise<PemPair> {
  const keys = await globalThis.crypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify']);
  const serialNumber = randomSerial();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber,
    name: `O=${opts.trustDomain}, CN=Ambit mesh root ${serialNumber.slice(0, 8)}`,
    notBefore: new Date(opts.now.getTime() - BACKDATE_MS),
    notAfter: new Date(opts.now.getTime() + opts.ttlMs),
    signingAlgorithm: ALGORITHM,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return {
    certPem: cert.toString('pem') + '\n',
    keyPem: pkcs8Pem(await globalThis.crypto.subtle.exportKey('pkcs8', keys.privateKey)),
  };
}

/** Loads a root from PEM (the Secret in ambit-system, or the user's own), checking it can act as a CA. */
export async function loadRoot(pair: PemPair): Promise<SigningCa> {
  let cert: x509.X509Certificate;
  let key: webcrypto.CryptoKey;
  try {
    cert = new x509.X509Certificate(pair.certPem);
    // Normalise any PEM private key (PKCS#8 or SEC1) to PKCS#8 for WebCrypto.
    const der = createPrivateKey(pair.keyPem).export({ type: 'pkcs8', format: 'der' });
    key = await globalThis.crypto.subtle.importKey('pkcs8', der, ALGORITHM, false, ['sign']);
  } catch (err) {
    throw new CaError('ERR_CA_ROOT', 'root certificate or key is not valid PEM (ECDSA P-256 expected)', {
      cause: err,
    });
  }
  const basic = cert.getExtension(x509.BasicConstraintsExtension);
  if (!basic?.ca)
    throw new CaError('ERR_CA_ROOT', 'root certificate is not a CA (basicConstraints CA:TRUE missing)');
  const nodeCert = new NodeX509(pair.certPem);
  if (!nodeCert.checkPrivateKey(createPrivateKey(pair.keyPem))) {
    throw new CaError('ERR_CA_ROOT', 'root key does not match the root certificate');
  }
  return { certPem: pair.certPem, cert, key };
}

/**
 * `root`'s certificate re-issued by `issuer` (a cross-certificate): same subject, key and key identifier, CA:TRUE,
 * signed by the older root. The control plane's serving chain carries it after a rotation, so a proxy that still
 * trusts only the older root (it read `root-cert.pem` before the rotation) verifies a serving certificate from the
 * new one; a proxy that trusts the new root finds it in its store first and never uses this.
 */
export async function crossCertify(root: string, issuer: SigningCa, now: Date): Promise<string> {
  const subject = new x509.X509Certificate(root);
  const notAfter = new Date(Math.min(subject.notAfter.getTime(), issuer.cert.notAfter.getTime()));
  const skid = subject.getExtension(x509.SubjectKeyIdentifierExtension);
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    subject: subject.subject,
    issuer: issuer.cert.subject,
    notBefore: new Date(Math.max(subject.notBefore.getTime(), now.getTime() - BACKDATE_MS)),
    notAfter,
    signingAlgorithm: ALGORITHM,
    publicKey: subject.publicKey,
    signingKey: issuer.key,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      ...(skid ? [skid] : [await x509.SubjectKeyIdentifierExtension.create(subject.publicKey)]),
      await x509.AuthorityKeyIdentifierExtension.create(issuer.cert),
    ],
  });
  return cert.toString('pem') + '\n';
}

export interface IssuedCertificate {
  /** Leaf first, then the root. */
  readonly chainPem: readonly string[];
  readonly notAfter: Date;
}

/**
 * Issues a workload certificate for `identity` from a PKCS#10 CSR. The CSR must be self-signed by its key and may
 * name no identity but this one; the certificate carries only the SPIFFE URI SAN, never what else the CSR asks.
 */
export async function issueWorkloadCertificate(
  ca: SigningCa,
  req: { csrPem: string; identity: WorkloadIdentity; ttlMs: number; now: Date },
): Promise<IssuedCertificate> {
  let csr: x509.Pkcs10CertificateRequest;
  try {
    csr = new x509.Pkcs10CertificateRequest(req.csrPem);
  } catch (err) {
    throw new CaError('ERR_CA_CSR', 'certificate request is not a valid PEM CSR', { cause: err });
  }
  if (!(await csr.verify())) throw new CaError('ERR_CA_CSR', 'certificate request signature does not verify');
  const spiffe = formatSpiffeId(req.identity);
  const sanExtension = csr.getExtension(SUBJECT_ALT_NAME_OID);
  const asked = sanExtension
    ? new x509.SubjectAlternativeNameExtension(sanExtension.rawData).names.toJSON()
    : [];
  const foreign = asked.filter((n) => !(n.type === 'url' && n.value === spiffe));
  if (foreign.length > 0) {
    throw new CaError(
      'ERR_CA_CSR',
      `certificate request names ${foreign.map((n) => `${n.type}:${n.value}`).join(', ')}; only ${spiffe} may be requested`,
    );
  }
  const notAfter = new Date(Math.min(req.now.getTime() + req.ttlMs, ca.cert.notAfter.getTime()));
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    subject: `O=${req.identity.trustDomain}`,
    issuer: ca.cert.subject,
    notBefore: new Date(req.now.getTime() - BACKDATE_MS),
    notAfter,
    signingAlgorithm: ALGORITHM,
    publicKey: csr.publicKey,
    signingKey: ca.key,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment,
        true,
      ),
      new x509.ExtendedKeyUsageExtension([
        x509.ExtendedKeyUsage.serverAuth,
        x509.ExtendedKeyUsage.clientAuth,
      ]),
      new x509.SubjectAlternativeNameExtension([{ type: 'url', value: spiffe }], true),
      await x509.AuthorityKeyIdentifierExtension.create(ca.cert),
    ],
  });
  return { chainPem: [cert.toString('pem') + '\n', ca.certPem], notAfter };
}

/**
 * The control plane's own TLS certificate (DESIGN §8: the config gRPC is TLS with the mesh root), for the DNS names
 * proxies dial, with a key made here and never stored: each replica mints its own at start.
 */
export async function issueServingCertificate(
  ca: SigningCa,
  req: { dnsNames: readonly string[]; ttlMs: number; now: Date },
): Promise<{ chainPem: readonly string[]; keyPem: string; notAfter: Date }> {
  if (req.dnsNames.length === 0) throw new CaError('ERR_CA_CSR', 'a serving certificate needs a DNS name');
  const keys = await globalThis.crypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify']);
  const notAfter = new Date(Math.min(req.now.getTime() + req.ttlMs, ca.cert.notAfter.getTime()));
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    subject: `CN=${req.dnsNames[0] ?? ''}`,
    issuer: ca.cert.subject,
    notBefore: new Date(req.now.getTime() - BACKDATE_MS),
    notAfter,
    signingAlgorithm: ALGORITHM,
    publicKey: keys.publicKey,
    signingKey: ca.key,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension(
        req.dnsNames.map((value) => ({ type: 'dns' as const, value })),
        false,
      ),
      await x509.AuthorityKeyIdentifierExtension.create(ca.cert),
    ],
  });
  return {
    chainPem: [cert.toString('pem') + '\n', ca.certPem],
    keyPem: pkcs8Pem(await globalThis.crypto.subtle.exportKey('pkcs8', keys.privateKey)),
    notAfter,
  };
}
