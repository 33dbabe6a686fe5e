// The CA on a real apiserver: real bound service-account tokens, TokenReview, pods on nodes; over gRPC with TLS.
import * as pb from '@ambit/codegen/proto';
import { Metadata, Server, ServerCredentials, credentials, status, type ServiceError } from '@grpc/grpc-js';
import { CoreV1Api, KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createRoot, issueWorkloadCertificate, loadRoot, type SigningCa } from './authority.ts';
import { certificateHandler } from './certificate-service.ts';
import { formatSpiffeId } from './spiffe.ts';
import { CONTROL_PLANE_AUDIENCE, tokenReviewAuthenticator } from './token-review.ts';
import { x509 } from './x509.ts';

const kc = new KubeConfig();
kc.loadFromFile(inject('kubeconfigPath'));
const core = kc.makeApiClient(CoreV1Api);
const NS = 'ca-int';
const SYSTEM = 'ambit-ca-int-system';
const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };

async function ensureNamespace(name: string) {
  await core.createNamespace({ body: { metadata: { name } } }).catch(() => undefined);
}

function pod(namespace: string, name: string, sa: string, node: string): V1Pod {
  return {
    metadata: { name, namespace },
    spec: {
      nodeName: node,
      serviceAccountName: sa,
      containers: [{ name: 'c', image: 'example.invalid/none' }],
    },
  };
}

async function tokenFor(namespace: string, sa: string, podName: string, audience = CONTROL_PLANE_AUDIENCE) {
  const p = await core.readNamespacedPod({ name: podName, namespace });
  const tr = await core.createNamespacedServiceAccountToken({
    name: sa,
    namespace,
    body: {
      spec: {
        audiences: [audience],
        expirationSeconds: 600,
        boundObjectRef: { kind: 'Pod', apiVersion: 'v1', name: podName, uid: p.metadata!.uid! },
      },
    },
  });
  return tr.status!.token;
}

let ca: SigningCa;
let server: Server;
let client: pb.CertificateServiceClient;

async function csrPem(): Promise<string> {
  const keys = await globalThis.crypto.subtle.generateKey(alg, true, ['sign', 'verify']);
  return (
    await x509.Pkcs10CertificateRequestGenerator.create({ name: 'O=w', keys, signingAlgorithm: alg })
  ).toString('pem');
}

async function request(token: string | undefined, identity: string) {
  const md = new Metadata();
  if (token) md.set('authorization', `Bearer ${token}`);
  const csr = await csrPem();
  return new Promise<pb.CreateCertificateResponse>((resolve, reject) => {
    client.createCertificate({ csrPem: csr, identity, ttlSeconds: 3600 }, md, (err, res) =>
      err ? reject(err) : resolve(res),
    );
  });
}

const id = (sa: string) =>
  formatSpiffeId({ trustDomain: 'cluster.local', namespace: NS, serviceAccount: sa });

describe('CreateCertificate on a real apiserver', { timeout: 60_000 }, () => {
  beforeAll(async () => {
    await ensureNamespace(NS);
    await ensureNamespace(SYSTEM);
    for (const [ns, sa] of [
      [SYSTEM, 'ztunnel'],
      [NS, 'sleep'],
      [NS, 'productpage'],
    ] as const) {
      await core
        .createNamespacedServiceAccount({ namespace: ns, body: { metadata: { name: sa } } })
        .catch(() => undefined);
    }
    await core.createNamespacedPod({
      namespace: SYSTEM,
      body: pod(SYSTEM, 'ztunnel-a', 'ztunnel', 'ca-node-a'),
    });
    await core.createNamespacedPod({ namespace: NS, body: pod(NS, 'sleep-a', 'sleep', 'ca-node-a') });
    await core.createNamespacedPod({
      namespace: NS,
      body: pod(NS, 'productpage-b', 'productpage', 'ca-node-b'),
    });

    ca = await loadRoot(
      await createRoot({ trustDomain: 'cluster.local', ttlMs: 86_400_000, now: new Date() }),
    );
    const handler = certificateHandler({
      authenticator: tokenReviewAuthenticator(kc),
      facts: {
        trustDomain: 'cluster.local',
        systemNamespace: SYSTEM,
        ztunnelServiceAccount: 'ztunnel',
        // The operator reads this from its pod cache; here we precompute it from the API.
        identitiesOnNode: (node) => identities.get(node) ?? [],
      },
      ca: () => ({ signing: ca, bundle: [ca.certPem] }),
      maxTtlMs: 86_400_000,
      now: () => new Date(),
    });
    const identities = new Map<string, { namespace: string; serviceAccount: string }[]>();
    for (const p of (await core.listPodForAllNamespaces()).items) {
      if (!p.spec?.nodeName) continue;
      identities.set(p.spec.nodeName, [
        ...(identities.get(p.spec.nodeName) ?? []),
        { namespace: p.metadata!.namespace!, serviceAccount: p.spec.serviceAccountName ?? 'default' },
      ]);
    }
    // The serving cert: the operator's own SPIFFE identity, issued by the same CA.
    const keys = await globalThis.crypto.subtle.generateKey(alg, true, ['sign', 'verify']);
    const csr = await x509.Pkcs10CertificateRequestGenerator.create({
      name: 'O=op',
      keys,
      signingAlgorithm: alg,
    });
    const serving = await issueWorkloadCertificate(ca, {
      csrPem: csr.toString('pem'),
      identity: { trustDomain: 'cluster.local', namespace: SYSTEM, serviceAccount: 'ambit-operator' },
      ttlMs: 3_600_000,
      now: new Date(),
    });
    const keyPem = createPrivateKey({
      key: Buffer.from(await globalThis.crypto.subtle.exportKey('pkcs8', keys.privateKey)),
      format: 'der',
      type: 'pkcs8',
    })
      .export({ type: 'pkcs8', format: 'pem' })
      .toString();
    server = new Server();
    server.addService(pb.CertificateServiceService, { createCertificate: handler });
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync(
        '127.0.0.1:0',
        ServerCredentials.createSsl(
          Buffer.from(ca.certPem),
          [{ cert_chain: Buffer.from(serving.chainPem.join('')), private_key: Buffer.from(keyPem) }],
          false,
        ),
        (e, p) => (e ? reject(e) : resolve(p)),
      ),
    );
    client = new pb.CertificateServiceClient(
      `127.0.0.1:${port}`,
      credentials.createSsl(Buffer.from(ca.certPem), null, null, { checkServerIdentity: () => undefined }),
    );
  });

  afterAll(async () => {
    client?.close();
    server?.forceShutdown();
    for (const [ns, name] of [
      [SYSTEM, 'ztunnel-a'],
      [NS, 'sleep-a'],
      [NS, 'productpage-b'],
    ] as const) {
      await core.deleteNamespacedPod({ name, namespace: ns, gracePeriodSeconds: 0 }).catch(() => undefined);
    }
    await core.deleteNamespace({ name: NS }).catch(() => undefined);
    await core.deleteNamespace({ name: SYSTEM }).catch(() => undefined);
  });

  it("gives a node's ztunnel the identity of a pod on its node, signed by the root", async () => {
    const res = await request(await tokenFor(SYSTEM, 'ztunnel', 'ztunnel-a'), id('sleep'));
    const leaf = new X509Certificate(res.certChainPem[0]!);
    expect(leaf.subjectAltName).toBe(`URI:${id('sleep')}`);
    expect(leaf.verify(new X509Certificate(ca.certPem).publicKey)).toBe(true);
    expect(res.trustBundlePem).toEqual([ca.certPem]);
  });

  it('refuses a ztunnel the identity of a pod on another node', async () => {
    await expect(
      request(await tokenFor(SYSTEM, 'ztunnel', 'ztunnel-a'), id('productpage')),
    ).rejects.toMatchObject({
      code: status.PERMISSION_DENIED,
      details: `no pod with identity ${NS}/productpage runs on node ca-node-a`,
    } satisfies Partial<ServiceError>);
  });

  it('refuses callers without a token, with a forged one, or with a token for another audience', async () => {
    await expect(request(undefined, id('sleep'))).rejects.toMatchObject({ code: status.UNAUTHENTICATED });
    await expect(request('not-a-token', id('sleep'))).rejects.toMatchObject({ code: status.UNAUTHENTICATED });
    const wrongAudience = await tokenFor(
      SYSTEM,
      'ztunnel',
      'ztunnel-a',
      'https://kubernetes.default.svc.cluster.local',
    );
    await expect(request(wrongAudience, id('sleep'))).rejects.toMatchObject({ code: status.UNAUTHENTICATED });
  });

  it('lets a pod have its own identity and nothing else', async () => {
    const token = await tokenFor(NS, 'sleep', 'sleep-a');
    expect(new X509Certificate((await request(token, id('sleep'))).certChainPem[0]!).subjectAltName).toBe(
      `URI:${id('sleep')}`,
    );
    await expect(request(token, id('productpage'))).rejects.toMatchObject({ code: status.PERMISSION_DENIED });
  });

  it('rejects a malformed identity as an invalid argument', async () => {
    await expect(
      request(await tokenFor(NS, 'sleep', 'sleep-a'), 'spiffe://cluster.local/not/an/identity'),
    ).rejects.toMatchObject({
      code: status.INVALID_ARGUMENT,
    });
  });
});
