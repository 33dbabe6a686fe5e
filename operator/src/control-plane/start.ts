// Brings up the control plane's serving side once a Mesh exists (its trust domain and CA settings decide the root):
// the root (shared Secret, kept and rotated by the RootKeeper), the published trust bundle (and its copies in the
// namespaces that run waypoints and gateways), this replica's serving certificate, the config server and the CA, on
// one TLS gRPC port. Every replica serves; only the leader writes status.
import type { Mesh } from '@ambit/codegen/crds';
import type { KubeConfig, V1Pod } from '@kubernetes/client-node';
import { issueServingCertificate, type SigningCa } from '../ca/authority.ts';
import { certificateHandler } from '../ca/certificate-service.ts';
import type { RotationSettings } from '../ca/rotation.ts';
import { tokenReviewAuthenticator } from '../ca/token-review.ts';
import { ConfigServer, type NackReport } from '../distribute/config-server.ts';
import { gatewayScope, waypointScope, ztunnelScope } from '../distribute/scope.ts';
import { decideSubscriber } from '../distribute/subscriber-policy.ts';
import { COMPONENT_NAMESPACE, CONTROL_PLANE_SERVICE, GATEWAY_CLASSES } from '../render/contract.ts';
import type { GatewayPlacement } from './bundle-copies.ts';
import { startControlPlaneServer, type ControlPlaneServer, type ServingCertificate } from './grpc-server.ts';
import { meshRotationSettings, RootKeeper, type ServedRoots } from './root-keeper.ts';

export interface ControlPlaneOptions {
  readonly kc: KubeConfig;
  /** The Mesh now (the operator's cache): followed for CA settings, rotation requests, deletion and re-creation. */
  mesh(): Mesh | undefined | Promise<Mesh | undefined>;
  readonly host: string;
  readonly port: number;
  readonly clusterDomain: string;
  /** Pods in the cluster (for "which identities run on this node"). */
  readonly pods: () => readonly V1Pod[];
  /** Gateways in the cluster: the trust bundle is copied into the namespaces of ours (RootKeeperOptions.gateways). */
  readonly gateways?: () => readonly GatewayPlacement[];
  readonly onNack: (report: NackReport) => void;
  readonly log: (line: string) => void;
  /** Where Ambit's components and the root live. @default COMPONENT_NAMESPACE */
  readonly namespace?: string;
  /** Tests: shorter rotation timings than a Mesh may set, and a faster poll. */
  readonly rotation?: {
    settings?(mesh: Mesh): RotationSettings;
    readonly pollMs?: number;
  };
}

export interface RunningControlPlane {
  readonly config: ConfigServer;
  readonly server: ControlPlaneServer;
  readonly roots: RootKeeper;
  /** The roots proxies trust now (the ConfigMap's content). */
  bundle(): readonly string[];
  close(): Promise<void>;
}

/** A serving certificate younger than this fraction of its life is kept when nothing else changed. */
const SERVING_RENEW_AT = 0.5;
const SERVING_TTL_MS = 365 * 24 * 3600e3;

export async function startControlPlane(o: ControlPlaneOptions): Promise<RunningControlPlane> {
  const namespace = o.namespace ?? COMPONENT_NAMESPACE;
  const first = await o.mesh();
  if (!first) throw new Error('no Mesh yet');
  const trustDomain = first.spec.trustDomain ?? 'cluster.local';
  const settings = (mesh: Mesh): RotationSettings =>
    o.rotation?.settings?.(mesh) ?? meshRotationSettings(mesh);
  let currentSettings = settings(first);
  const mesh = async (): Promise<Mesh | undefined> => {
    const m = await o.mesh();
    if (m) currentSettings = settings(m);
    return m;
  };

  const host = `${CONTROL_PLANE_SERVICE}.${namespace}.svc`;
  const dnsNames = [host, `${host}.${o.clusterDomain}`, CONTROL_PLANE_SERVICE];
  let serving: (ServingCertificate & { issuer: SigningCa; renewAt: number }) | undefined;
  const servingFor = async (roots: ServedRoots): Promise<ServingCertificate> => {
    const now = new Date();
    const issued = await issueServingCertificate(roots.signing, { dnsNames, ttlMs: SERVING_TTL_MS, now });
    const [leaf = '', root = ''] = issued.chainPem;
    // With a cross-certificate, it replaces the root in the chain: a proxy that trusts only the previous root
    // builds leaf → cross → previous root; one that trusts the signing root finds it in its store first.
    const chainPem =
      roots.servingIntermediates.length > 0 ? [leaf, ...roots.servingIntermediates] : [leaf, root];
    serving = {
      chainPem,
      keyPem: issued.keyPem,
      issuer: roots.signing,
      renewAt: now.getTime() + (issued.notAfter.getTime() - now.getTime()) * SERVING_RENEW_AT,
    };
    return serving;
  };

  let server: ControlPlaneServer | undefined;
  let reissuing = Promise.resolve();
  /** A new serving certificate when the signing root or the chain changed, or at half its life. */
  const reissue = (roots: ServedRoots): void => {
    const s = server;
    if (!s) return;
    reissuing = reissuing
      .then(async () => {
        const held = serving;
        const sameChainTail =
          held?.issuer === roots.signing &&
          (roots.servingIntermediates.length === 0 ||
            held.chainPem.slice(1).join('') === roots.servingIntermediates.join(''));
        if (held && sameChainTail && Date.now() < held.renewAt) return;
        s.setServing(await servingFor(roots));
        o.log(`control plane: serving certificate issued by ${roots.signing.cert.subject}`);
      })
      .catch((err: unknown) =>
        o.log(`control plane: cannot reissue the serving certificate: ${String(err)}`),
      );
  };
  const keeper = new RootKeeper({
    kc: o.kc,
    namespace,
    mesh,
    settings,
    ...(o.gateways ? { gateways: o.gateways } : {}),
    ...(o.rotation?.pollMs !== undefined ? { pollMs: o.rotation.pollMs } : {}),
    onChange: reissue,
    log: o.log,
  });
  const initial = await keeper.start();
  const renewal = setInterval(() => {
    if (keeper.served) reissue(keeper.served);
  }, 60_000);
  renewal.unref();
  try {
    const authenticator = tokenReviewAuthenticator(o.kc);
    const facts = { systemNamespace: namespace, ztunnelServiceAccount: 'ztunnel' };
    const subscriberFacts = {
      ...facts,
      ingressClass: (ns: string, name: string) => {
        const g = o.gateways?.().find((x) => x.metadata.namespace === ns && x.metadata.name === name);
        const cls = g?.spec.gatewayClassName;
        return cls !== undefined && (GATEWAY_CLASSES as readonly string[]).includes(cls) ? cls : undefined;
      },
    };
    const config = new ConfigServer({
      admit: async (token, hello) =>
        decideSubscriber(await authenticator.authenticate(token), hello, subscriberFacts),
      scope: (sub, c) => {
        if (sub.kind === 'ztunnel') return ztunnelScope(c, sub.name);
        const [ns = '', name = ''] = sub.name.split('/');
        return sub.kind === 'gateway'
          ? gatewayScope(c, { namespace: ns, name })
          : waypointScope(c, { namespace: ns, name });
      },
      onNack: o.onNack,
      log: o.log,
    });
    const served = () => keeper.served ?? initial;
    const certificates = certificateHandler({
      authenticator,
      facts: {
        trustDomain,
        ...facts,
        identitiesOnNode: (node) =>
          o
            .pods()
            .filter((p) => p.spec?.nodeName === node)
            .map((p) => ({
              namespace: p.metadata?.namespace ?? '',
              serviceAccount: p.spec?.serviceAccountName ?? 'default',
            })),
      },
      // The root signing now and every root in force: a rotation changes both between two calls.
      ca: () => {
        const r = served();
        return { signing: r.signing, bundle: r.bundle };
      },
      // The rotation waits one workload lifetime for certificates from the old root to expire: this bound.
      maxTtlMs: () => currentSettings.workloadTtlMs,
      now: () => new Date(),
      log: o.log,
    });
    server = await startControlPlaneServer({
      host: o.host,
      port: o.port,
      serving: await servingFor(served()),
      config,
      certificates,
    });
    // A rotation step between the keeper's first pass and now: serve from what is current.
    reissue(served());
    o.log(
      `control plane serving config and certificates on ${o.host}:${server.port} (TLS, root ${trustDomain})`,
    );
    const running = server;
    return {
      config,
      server: running,
      roots: keeper,
      bundle: () => served().bundle,
      close: async () => {
        keeper.stop();
        clearInterval(renewal);
        await running.close();
      },
    };
  } catch (err) {
    keeper.stop();
    clearInterval(renewal);
    throw err;
  }
}
