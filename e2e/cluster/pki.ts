// Mints the cluster's CA, serving and client certificates and service-account keys (ECDSA P-256) as PEM strings.
import type { webcrypto } from 'node:crypto';
import { x509 } from './x509.ts';

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;

const EC: webcrypto.EcKeyGenParams & webcrypto.EcKeyImportParams = { name: 'ECDSA', namedCurve: 'P-256' };
const SIGNING: webcrypto.EcdsaParams = { name: 'ECDSA', hash: 'SHA-256' };
const HOUR_MS = 3_600_000;
/** Leaf lifetime: long enough for a kept cluster-up, short enough to never matter outside tests. */
const LEAF_DAYS = 365;
const CA_DAYS = 3650;

/** A certificate with its private key (PKCS#8), both PEM. A CA is one of these too. */
export interface CertAndKey {
  readonly certPem: string;
  readonly keyPem: string;
}

export interface KeyPairPem {
  readonly publicKeyPem: string;
  readonly privateKeyPem: string;
}

/** Subject of a client certificate; the apiserver maps CN to the user and each O to a group. */
export interface ClientIdentity {
  readonly cn: string;
  readonly orgs?: readonly string[];
}

export interface ServingIdentity {
  readonly cn: string;
  readonly dnsNames: readonly string[];
  readonly ips: readonly string[];
}

/**
 * Everything the control plane and its admin need, laid out as kubeadm does; later components (kubelets) get their
 * certs from issueClientCert(ca, …).
 */
export interface ClusterPki {
  readonly ca: CertAndKey;
  readonly apiserver: CertAndKey;
  readonly admin: CertAndKey;
  /** Signs and verifies service-account tokens. */
  readonly serviceAccount: KeyPairPem;
  /** The apiserver's client cert towards kubelets (exec, logs, port-forward). */
  readonly apiserverKubeletClient: CertAndKey;
  /** A CA of its own for the aggregation layer's request headers, as kubeadm keeps it apart from the cluster CA. */
  readonly frontProxyCa: CertAndKey;
  /** The apiserver's client cert towards aggregated apiservers, signed by frontProxyCa. */
  readonly frontProxyClient: CertAndKey;
  /** Client certs embedded in the controller-manager's and scheduler's kubeconfigs. */
  readonly controllerManager: CertAndKey;
  readonly scheduler: CertAndKey;
  /** Serving certs of their secure ports on 127.0.0.1 (so readiness probes verify them with the cluster CA). */
  readonly controllerManagerServing: CertAndKey;
  readonly schedulerServing: CertAndKey;
}

export interface ClusterPkiOptions {
  /** An extra address the apiserver listens on, added to its serving cert. @default '127.0.0.1' */
  readonly bindAddress?: string;
}

/** The first IP of the service CIDR 10.96.0.0/16: the `kubernetes.default` ClusterIP. */
export const KUBERNETES_SERVICE_IP = '10.96.0.1';

/** The apiserver's serving identity when it binds 127.0.0.1; see apiserverServing for another bind address. */
export const APISERVER_SERVING: ServingIdentity = {
  cn: 'kube-apiserver',
  dnsNames: [
    'localhost',
    'kubernetes',
    'kubernetes.default',
    'kubernetes.default.svc',
    'kubernetes.default.svc.cluster.local',
  ],
  ips: ['127.0.0.1', KUBERNETES_SERVICE_IP],
};

/** APISERVER_SERVING plus the bind address (e.g. the underlay bridge IP 172.30.0.1) when it is not in there yet. */
export function apiserverServing(bindAddress = '127.0.0.1'): ServingIdentity {
  const ips = APISERVER_SERVING.ips.includes(bindAddress)
    ? APISERVER_SERVING.ips
    : [...APISERVER_SERVING.ips, bindAddress];
  return { ...APISERVER_SERVING, ips };
}

export const ADMIN_IDENTITY: ClientIdentity = { cn: 'ambit-admin', orgs: ['system:masters'] };

/** kubeadm's names: the built-in RBAC roles bind to these users, so the components get exactly their rights. */
export const CONTROLLER_MANAGER_IDENTITY: ClientIdentity = { cn: 'system:kube-controller-manager' };
export const SCHEDULER_IDENTITY: ClientIdentity = { cn: 'system:kube-scheduler' };
/** kubeadm's apiserver-kubelet-client: full rights on every kubelet API. */
export const APISERVER_KUBELET_CLIENT_IDENTITY: ClientIdentity = {
  cn: 'kube-apiserver-kubelet-client',
  orgs: ['system:masters'],
};
/** The CN aggregated apiservers accept request headers from (`--requestheader-allowed-names`). */
export const FRONT_PROXY_CLIENT_IDENTITY: ClientIdentity = { cn: 'front-proxy-client' };

/** A component's secure port on loopback only: `localhost` and `127.0.0.1`. */
export function loopbackServing(cn: string): ServingIdentity {
  return { cn, dnsNames: ['localhost'], ips: ['127.0.0.1'] };
}

/** The identity a fake kubelet on `nodeName` presents (the Node authorizer keys on it). */
export function nodeIdentity(nodeName: string): ClientIdentity {
  return { cn: `system:node:${nodeName}`, orgs: ['system:nodes'] };
}

function generateKeys(): Promise<CryptoKeyPair> {
  return crypto.subtle.generateKey(EC, true, ['sign', 'verify']);
}

async function privateKeyPem(key: CryptoKey): Promise<string> {
  return x509.PemConverter.encode(await crypto.subtle.exportKey('pkcs8', key), 'PRIVATE KEY');
}

async function publicKeyPem(key: CryptoKey): Promise<string> {
  return x509.PemConverter.encode(await crypto.subtle.exportKey('spki', key), 'PUBLIC KEY');
}

function importSigningKey(pem: string): Promise<CryptoKey> {
  return crypto.subtle.importKey('pkcs8', x509.PemConverter.decodeFirst(pem), EC, false, ['sign']);
}

/**
 * A positive 128-bit serial in hex. The first byte is kept in 0x01..0x7f: a top bit set would make the DER integer
 * negative, and a zero byte would be a non-minimal encoding, which Go's x509 parser rejects.
 */
function randomSerial(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[0] = ((bytes[0] ?? 0) & 0x7f) | 0x01;
  return Buffer.from(bytes).toString('hex');
}

function validity(days: number): { notBefore: Date; notAfter: Date } {
  const now = Date.now();
  // Backdated an hour so a slightly skewed clock on the verifier does not reject a fresh cert.
  return { notBefore: new Date(now - HOUR_MS), notAfter: new Date(now + days * 24 * HOUR_MS) };
}

function subjectName(cn: string, orgs: readonly string[] = []): x509.JsonName {
  return [...orgs.map((o) => ({ O: [o] })), { CN: [cn] }];
}

/** A self-signed CA that may sign leaves only (pathLen 0). */
export async function createCa(cn = 'ambit-cluster-ca'): Promise<CertAndKey> {
  const keys = await generateKeys();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(),
    name: subjectName(cn),
    keys,
    signingAlgorithm: SIGNING,
    ...validity(CA_DAYS),
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature,
        true,
      ),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { certPem: cert.toString('pem'), keyPem: await privateKeyPem(keys.privateKey) };
}

async function issue(
  ca: CertAndKey,
  subject: x509.JsonName,
  usage: x509.ExtendedKeyUsage,
  extra: x509.Extension[] = [],
): Promise<CertAndKey> {
  const caCert = new x509.X509Certificate(ca.certPem);
  const keys = await generateKeys();
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    subject,
    issuer: caCert.subject,
    publicKey: keys.publicKey,
    signingKey: await importSigningKey(ca.keyPem),
    signingAlgorithm: SIGNING,
    ...validity(LEAF_DAYS),
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([usage]),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(caCert.publicKey),
      ...extra,
    ],
  });
  return { certPem: cert.toString('pem'), keyPem: await privateKeyPem(keys.privateKey) };
}

/** A client certificate for `{cn, orgs}` (e.g. nodeIdentity('node-1') or the controller-manager's). */
export function issueClientCert(ca: CertAndKey, identity: ClientIdentity): Promise<CertAndKey> {
  return issue(ca, subjectName(identity.cn, identity.orgs), x509.ExtendedKeyUsage.clientAuth);
}

/** A TLS server certificate valid for the given DNS names and IPs. */
export function issueServingCert(ca: CertAndKey, identity: ServingIdentity): Promise<CertAndKey> {
  const san = new x509.SubjectAlternativeNameExtension([
    ...identity.dnsNames.map((value) => ({ type: 'dns' as const, value })),
    ...identity.ips.map((value) => ({ type: 'ip' as const, value })),
  ]);
  return issue(ca, subjectName(identity.cn), x509.ExtendedKeyUsage.serverAuth, [san]);
}

export async function createKeyPair(): Promise<KeyPairPem> {
  const keys = await generateKeys();
  return {
    publicKeyPem: await publicKeyPem(keys.publicKey),
    privateKeyPem: await privateKeyPem(keys.privateKey),
  };
}

/** Fresh CAs (cluster and front proxy), the control plane's serving and client certs, and service-account keys. */
export async function createClusterPki(opts: ClusterPkiOptions = {}): Promise<ClusterPki> {
  const [ca, frontProxyCa] = await Promise.all([createCa(), createCa('front-proxy-ca')]);
  const [
    apiserver,
    admin,
    serviceAccount,
    apiserverKubeletClient,
    frontProxyClient,
    controllerManager,
    scheduler,
    controllerManagerServing,
    schedulerServing,
  ] = await Promise.all([
    issueServingCert(ca, apiserverServing(opts.bindAddress)),
    issueClientCert(ca, ADMIN_IDENTITY),
    createKeyPair(),
    issueClientCert(ca, APISERVER_KUBELET_CLIENT_IDENTITY),
    issueClientCert(frontProxyCa, FRONT_PROXY_CLIENT_IDENTITY),
    issueClientCert(ca, CONTROLLER_MANAGER_IDENTITY),
    issueClientCert(ca, SCHEDULER_IDENTITY),
    issueServingCert(ca, loopbackServing('kube-controller-manager')),
    issueServingCert(ca, loopbackServing('kube-scheduler')),
  ]);
  return {
    ca,
    apiserver,
    admin,
    serviceAccount,
    apiserverKubeletClient,
    frontProxyCa,
    frontProxyClient,
    controllerManager,
    scheduler,
    controllerManagerServing,
    schedulerServing,
  };
}
