// Brings up the control plane's serving side once a Mesh exists (its trust domain and CA settings decide the root):
// the root (shared Secret), the published trust bundle, this replica's serving certificate, the config server and
// the CA, on one TLS gRPC port. Every replica serves; only the leader writes status.
import type { Mesh } from '@ambit/codegen/crds';
import type { KubeConfig, V1Pod } from '@kubernetes/client-node';
import { issueServingCertificate, loadRoot } from '../ca/authority.ts';
import { certificateHandler } from '../ca/certificate-service.ts';
import { tokenReviewAuthenticator } from '../ca/token-review.ts';
import { ConfigServer, type NackReport } from '../distribute/config-server.ts';
import { waypointScope, ztunnelScope } from '../distribute/scope.ts';
import { decideSubscriber } from '../distribute/subscriber-policy.ts';
import { COMPONENT_NAMESPACE, CONTROL_PLANE_SERVICE } from '../render/contract.ts';
import { parseDuration } from './duration.ts';
import { startControlPlaneServer, type ControlPlaneServer } from './grpc-server.ts';
import { ensureRoot, publishTrustBundle } from './root-store.ts';

export interface ControlPlaneOptions {
  readonly kc: KubeConfig;
  readonly mesh: Mesh;
  readonly host: string;
  readonly port: number;
  readonly clusterDomain: string;
  /** Pods in the cluster (for "which identities run on this node"). */
  readonly pods: () => readonly V1Pod[];
  readonly onNack: (report: NackReport) => void;
  readonly log: (line: string) => void;
}

export interface RunningControlPlane {
  readonly config: ConfigServer;
  readonly server: ControlPlaneServer;
  readonly rootPem: string;
}

export async function startControlPlane(o: ControlPlaneOptions): Promise<RunningControlPlane> {
  const spec = o.mesh.spec;
  const trustDomain = spec.trustDomain ?? 'cluster.local';
  const now = new Date();
  const owner = o.mesh.metadata.uid
    ? { name: o.mesh.metadata.name ?? 'default', uid: o.mesh.metadata.uid }
    : undefined;
  const root = await ensureRoot(o.kc, {
    namespace: COMPONENT_NAMESPACE,
    ...(owner ? { owner } : {}),
    ...(spec.ca?.rootSecret?.name ? { userSecret: spec.ca.rootSecret.name } : {}),
    trustDomain,
    ttlMs: parseDuration(spec.ca?.rootCertTTL ?? '87600h'),
    now,
  });
  const signing = await loadRoot(root);
  await publishTrustBundle(o.kc, COMPONENT_NAMESPACE, [root.certPem], owner);
  const host = `${CONTROL_PLANE_SERVICE}.${COMPONENT_NAMESPACE}.svc`;
  const serving = await issueServingCertificate(signing, {
    dnsNames: [host, `${host}.${o.clusterDomain}`, CONTROL_PLANE_SERVICE],
    ttlMs: 365 * 24 * 3600e3,
    now,
  });
  const authenticator = tokenReviewAuthenticator(o.kc);
  const facts = { systemNamespace: COMPONENT_NAMESPACE, ztunnelServiceAccount: 'ztunnel' };
  const config = new ConfigServer({
    admit: async (token, hello) => decideSubscriber(await authenticator.authenticate(token), hello, facts),
    scope: (sub, c) => {
      if (sub.kind === 'ztunnel') return ztunnelScope(c, sub.name);
      const [namespace = '', name = ''] = sub.name.split('/');
      return waypointScope(c, { namespace, name });
    },
    onNack: o.onNack,
    log: o.log,
  });
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
    ca: () => ({ signing, bundle: [root.certPem] }),
    maxTtlMs: parseDuration(spec.ca?.workloadCertTTL ?? '24h'),
    now: () => new Date(),
    log: o.log,
  });
  const server = await startControlPlaneServer({
    host: o.host,
    port: o.port,
    rootPem: root.certPem,
    serving,
    config,
    certificates,
  });
  o.log(
    `control plane serving config and certificates on ${o.host}:${server.port} (TLS, root ${trustDomain})`,
  );
  return { config, server, rootPem: root.certPem };
}
