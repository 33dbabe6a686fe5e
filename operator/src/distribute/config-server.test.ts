// The config channel over real gRPC on loopback, TLS with the mesh root: snapshot, deltas, NACK keeping the last
// good record, refused callers, and a proxy that keeps its config while the control plane is away.
import * as pb from '@ambit/codegen/proto';
import { ConfigSubscription, EMPTY_MATCH, type Authorization, type Workload } from '@ambit/config';
import { Server, ServerCredentials, credentials } from '@grpc/grpc-js';
import { createPrivateKey } from 'node:crypto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createRoot, issueWorkloadCertificate, loadRoot } from '../ca/authority.ts';
import { formatSpiffeId } from '../ca/spiffe.ts';
import { x509 } from '../ca/x509.ts';
import { ConfigServer, SubscriptionError, type NackReport } from './config-server.ts';
import { ztunnelScope, type FullConfig } from './scope.ts';

const operatorId = {
  trustDomain: 'cluster.local',
  namespace: 'ambit-system',
  serviceAccount: 'ambit-operator',
};

async function tlsMaterial() {
  const root = await loadRoot(
    await createRoot({ trustDomain: 'cluster.local', ttlMs: 86_400_000, now: new Date() }),
  );
  const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
  const keys = await globalThis.crypto.subtle.generateKey(alg, true, ['sign', 'verify']);
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: 'O=x',
    keys,
    signingAlgorithm: alg,
  });
  const issued = await issueWorkloadCertificate(root, {
    csrPem: csr.toString('pem'),
    identity: operatorId,
    ttlMs: 3_600_000,
    now: new Date(),
  });
  const pkcs8 = Buffer.from(await globalThis.crypto.subtle.exportKey('pkcs8', keys.privateKey));
  const keyPem = createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' })
    .export({ type: 'pkcs8', format: 'pem' })
    .toString();
  return { rootPem: root.certPem, certChain: issued.chainPem.join(''), keyPem };
}

function workload(uid: string, node: string, address = '10.244.1.5', policies: string[] = []): Workload {
  return {
    uid,
    name: uid,
    namespace: 'default',
    addresses: [address],
    node,
    serviceAccount: 'default',
    trustDomain: 'cluster.local',
    canonicalName: uid,
    canonicalRevision: 'latest',
    workloadName: uid,
    protocol: 'HBONE',
    mtls: { mode: 'PERMISSIVE', ports: {} },
    authorizationPolicies: policies,
    ready: true,
    source: { group: '', kind: 'Pod', namespace: 'default', name: uid },
  };
}

const policy: Authorization = {
  id: 'default/p',
  name: 'p',
  namespace: 'default',
  scope: 'WorkloadSelector',
  action: 'Allow',
  rules: [{ allOf: [{ matches: [{ ...EMPTY_MATCH, principals: ['cluster.local/ns/default/sa/sleep'] }] }] }],
  source: { group: 'security.istio.io', kind: 'AuthorizationPolicy', namespace: 'default', name: 'p' },
};

function config(workloads: Workload[], authorizations: Authorization[] = []): FullConfig {
  return {
    workloads: new Map(workloads.map((w) => [w.uid, w])),
    services: new Map(),
    authorizations: new Map(authorizations.map((a) => [a.id, a])),
  };
}

const tokens: Record<string, string> = { 'token-a': 'node-a', 'token-b': 'node-b' };
const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

async function startServer(tls: Awaited<ReturnType<typeof tlsMaterial>>, port = 0) {
  const nacks: NackReport[] = [];
  const pushes: { proxy: string; push: pb.SubscribeResponse }[] = [];
  const cs = new ConfigServer({
    admit: (token, hello) => {
      const node = token ? tokens[token] : undefined;
      if (!node) return Promise.reject(new SubscriptionError('ERR_UNAUTHENTICATED', 'unknown token'));
      if (hello.kind !== pb.ProxyKind.PROXY_KIND_ZTUNNEL || hello.node !== node) {
        return Promise.reject(
          new SubscriptionError(
            'ERR_PERMISSION_DENIED',
            `token of ${node} cannot subscribe as ${hello.node}`,
          ),
        );
      }
      return Promise.resolve({ kind: 'ztunnel', name: node });
    },
    scope: (s, c) => ztunnelScope(c, s.name),
    onNack: (r) => nacks.push(r),
    onPush: (proxy, push) => pushes.push({ proxy, push }),
  });
  const server = new Server();
  server.addService(pb.ConfigDiscoveryServiceService, { subscribe: cs.subscribe });
  const creds = ServerCredentials.createSsl(
    Buffer.from(tls.rootPem),
    [{ cert_chain: Buffer.from(tls.certChain), private_key: Buffer.from(tls.keyPem) }],
    false,
  );
  const bound = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`127.0.0.1:${port}`, creds, (err, p) => (err ? reject(err) : resolve(p))),
  );
  cleanups.push(() => server.forceShutdown());
  return { cs, server, port: bound, nacks, pushes };
}

function subscribe(port: number, rootPem: string, token: string, node: string) {
  const client = new pb.ConfigDiscoveryServiceClient(
    `127.0.0.1:${port}`,
    credentials.createSsl(Buffer.from(rootPem), null, null, {
      // The control plane is known by its SPIFFE identity, not a DNS name.
      checkServerIdentity: (_host, cert) =>
        cert.subjectaltname === `URI:${formatSpiffeId(operatorId)}`
          ? undefined
          : new Error(`unexpected server ${cert.subjectaltname}`),
    }),
  );
  const errors: string[] = [];
  const sub = new ConfigSubscription({
    client,
    hello: { kind: pb.ProxyKind.PROXY_KIND_ZTUNNEL, node, waypoint: '', gateway: '', protocolVersion: 1 },
    token: () => Promise.resolve(token),
    onUpdate: () => undefined,
    log: (l) => errors.push(l),
    initialBackoffMs: 50,
    maxBackoffMs: 200,
  });
  sub.start();
  cleanups.push(() => {
    sub.stop();
    client.close();
  });
  return { sub, errors };
}

describe('config channel', { timeout: 30_000 }, () => {
  it('sends a snapshot, then only what changed, scoped to the node', async () => {
    const tls = await tlsMaterial();
    const { cs, port, pushes } = await startServer(tls);
    cs.update(
      config(
        [workload('a1', 'node-a', '10.244.1.5', ['default/p']), workload('b1', 'node-b', '10.244.2.5')],
        [policy],
      ),
    );
    const { sub } = subscribe(port, tls.rootPem, 'token-a', 'node-a');
    await vi.waitFor(() => expect([...sub.state.workloads.keys()].sort()).toEqual(['a1', 'b1']), {
      timeout: 5000,
    });
    expect([...sub.state.authorizations.keys()]).toEqual(['default/p']);
    expect(pushes[0]?.push.full).toBe(true);

    cs.update(
      config(
        [workload('a1', 'node-a', '10.244.1.5', ['default/p']), workload('b1', 'node-b', '10.244.2.9')],
        [policy],
      ),
    );
    await vi.waitFor(() => expect(sub.state.workloads.get('b1')?.addresses).toEqual(['10.244.2.9']), {
      timeout: 5000,
    });
    const delta = pushes.at(-1)!.push;
    expect(delta.full).toBe(false);
    expect(delta.workloads.map((w) => w.uid)).toEqual(['b1']);
    expect(delta.authorizations).toEqual([]);

    cs.update(config([workload('a1', 'node-a', '10.244.1.5')], [policy]));
    await vi.waitFor(() => expect([...sub.state.workloads.keys()]).toEqual(['a1']), { timeout: 5000 });
    expect(pushes.at(-1)!.push.removedWorkloads).toEqual(['b1']);
    // a1 no longer selects the policy, so node-a no longer needs it
    expect(pushes.at(-1)!.push.removedAuthorizations).toEqual(['default/p']);
    expect(sub.state.authorizations.size).toBe(0);
  });

  it('keeps the last good record when a push carries a bad one, and reports the NACK', async () => {
    const tls = await tlsMaterial();
    const { cs, port, nacks } = await startServer(tls);
    cs.update(config([workload('a1', 'node-a', '10.244.1.5')]));
    const { sub } = subscribe(port, tls.rootPem, 'token-a', 'node-a');
    await vi.waitFor(() => expect(sub.state.workloads.size).toBe(1), { timeout: 5000 });
    cs.update(config([workload('a1', 'node-a', 'not-an-ip'), workload('a2', 'node-a', '10.244.1.6')]));
    await vi.waitFor(() => expect(nacks).toHaveLength(1), { timeout: 5000 });
    expect(nacks[0]).toMatchObject({ proxy: 'ztunnel/node-a', rejected: [{ kind: 'Workload', id: 'a1' }] });
    expect(nacks[0]!.message).toContain('not an IP address');
    expect(sub.state.workloads.get('a1')?.addresses).toEqual(['10.244.1.5']);
    expect(sub.state.workloads.has('a2')).toBe(true);
    // The rejected record is not pushed again until the config changes (no NACK loop).
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(nacks).toHaveLength(1);
  });

  it('refuses an unknown token and a token used for another node', async () => {
    const tls = await tlsMaterial();
    const { cs, port } = await startServer(tls);
    cs.update(config([workload('a1', 'node-a')]));
    const stranger = subscribe(port, tls.rootPem, 'forged', 'node-a');
    const impostor = subscribe(port, tls.rootPem, 'token-b', 'node-a');
    await vi.waitFor(() => expect(stranger.errors.join()).toContain('unknown token'), { timeout: 5000 });
    await vi.waitFor(
      () => expect(impostor.errors.join()).toContain('token of node-b cannot subscribe as node-a'),
      { timeout: 5000 },
    );
    expect(stranger.sub.state.workloads.size + impostor.sub.state.workloads.size).toBe(0);
    expect(cs.subscribers).toEqual([]);
  });

  it('keeps serving its last config while the control plane is gone, and resyncs from a full snapshot after', async () => {
    const tls = await tlsMaterial();
    const first = await startServer(tls);
    first.cs.update(config([workload('a1', 'node-a')]));
    const { sub } = subscribe(first.port, tls.rootPem, 'token-a', 'node-a');
    await vi.waitFor(() => expect(sub.state.workloads.size).toBe(1), { timeout: 5000 });
    first.server.forceShutdown();
    await vi.waitFor(() => expect(sub.connected).toBe(false), { timeout: 5000 });
    expect(sub.state.workloads.size).toBe(1);
    const second = await startServer(tls, first.port);
    second.cs.update(config([workload('a9', 'node-a')]));
    await vi.waitFor(() => expect([...sub.state.workloads.keys()]).toEqual(['a9']), { timeout: 10_000 });
    expect(second.pushes[0]?.push.full).toBe(true);
  });
});
