#!/usr/bin/env node
// The operator process (the image's entry point): the Mesh and waypoint reconcilers under leader election, the
// config engine that reports enrollment and warnings on the Mesh, and the health endpoints. SIGTERM stops acting,
// releases the lease (so another replica takes over at once) and exits.
import { KubeConfig } from '@kubernetes/client-node';
import { attachedRouteCounts, type ClusterConfig, type MeshSettings } from './translate/cluster-config.ts';
import { clusterCaches } from './engine/caches.ts';
import { ConfigEngine } from './engine/config-engine.ts';
import { enrollmentSummary, MAX_REJECTIONS, MeshConfigStatusWriter } from './engine/mesh-config-status.ts';
import { ObjectStatusWriter } from './engine/object-status.ts';
import { RouteStatusWriter } from './engine/route-status.ts';
import { startControlPlane, type RunningControlPlane } from './control-plane/start.ts';
import type { NackReport } from './distribute/config-server.ts';
import { parseOperatorConfig } from './process/config.ts';
import { startHttp } from './process/http.ts';
import { MESH_NAME } from './render/contract.ts';
import { renderMesh } from './render/mesh.ts';
import { RELEASE_FACTS } from './render/release.ts';
import { renderIngressGateway } from './render/ingress-gateway.ts';
import { renderWaypoint } from './render/waypoint.ts';
import { Operator } from './reconcile/operator.ts';

function log(line: string): void {
  console.log(`${new Date().toISOString()} ${line}`);
}

async function main(): Promise<void> {
  const config = parseOperatorConfig(process.env);
  const kc = new KubeConfig();
  if (config.kubeconfig) kc.loadFromFile(config.kubeconfig);
  else kc.loadFromCluster();

  const statusWriter = new MeshConfigStatusWriter(kc, MESH_NAME);
  let lastConfig: ClusterConfig | undefined;
  let attachedRoutes = new Map<string, Map<string, number>>();
  let controlPlane: RunningControlPlane | undefined;
  const rejections: NackReport[] = [];
  const writeConfigStatus = (): void => {
    if (!operator.isLeader() || !lastConfig || !operator.caches.meshes.get(MESH_NAME)) return;
    const warnings = [...lastConfig.warnings, ...operator.meshReconciler.warnings];
    const enrollment = enrollmentSummary(caches.namespaces.list(), lastConfig.workloads.values());
    statusWriter
      .write({
        ...(controlPlane ? { version: controlPlane.config.version } : {}),
        rejections: rejections.slice(-MAX_REJECTIONS),
        warnings,
        enrollment,
      })
      .catch((err: unknown) => log(`mesh status: ${err instanceof Error ? err.message : String(err)}`));
  };

  // Conditions on the users' policies and routes: leader only, one write pass at a time (the writers skip what is
  // unchanged, so a pass after a no-op recompute writes nothing).
  const objectStatus = new ObjectStatusWriter(kc, () => new Date(), log);
  const routeStatus = new RouteStatusWriter(kc, () => new Date(), log);
  let statusPass: Promise<unknown> = Promise.resolve();
  const writeObjectStatus = (c: ClusterConfig): void => {
    if (!operator.isLeader()) return;
    statusPass = statusPass.then(() =>
      Promise.all([objectStatus.write(c.statuses), routeStatus.write(c.routeStatuses)]),
    );
  };

  const operator = new Operator({
    kc,
    identity: config.identity,
    leaseNamespace: config.namespace,
    clusterDomain: config.clusterDomain,
    facts: RELEASE_FACTS,
    renderMesh,
    renderWaypoint,
    renderIngress: renderIngressGateway,
    routeFacts: () => ({
      referenceGrants: caches.referenceGrants.list(),
      attachedRoutes: (namespace, gateway, listener) =>
        attachedRoutes.get(`${namespace}/${gateway}`)?.get(listener) ?? 0,
    }),
    onWarnings: writeConfigStatus,
    onStartedLeading: () => {
      writeConfigStatus();
      if (lastConfig) writeObjectStatus(lastConfig);
    },
    log,
  });
  const meshSettings = (): MeshSettings => {
    const spec = operator.caches.meshes.get(MESH_NAME)?.spec;
    return {
      trustDomain: spec?.trustDomain ?? 'cluster.local',
      rootNamespace: spec?.rootNamespace ?? 'istio-system',
      clusterDomain: config.clusterDomain,
    };
  };
  const caches = clusterCaches(
    kc,
    () => engine.changed(),
    (kind, err) => log(`watch ${kind}: ${err instanceof Error ? err.message : String(err)}`),
  );
  const engine = new ConfigEngine({
    caches,
    mesh: meshSettings,
    onConfig: (c) => {
      lastConfig = c;
      attachedRoutes = attachedRouteCounts(c.routeStatuses);
      operator.routesChanged();
      controlPlane?.config.update(c);
      writeConfigStatus();
      writeObjectStatus(c);
    },
    log,
  });

  let ready = false;
  const http = await startHttp(config.httpPort, {
    ready: () => ready,
    leader: () => operator.isLeader(),
    writes: () => operator.applier.counts,
    config: () => controlPlane?.config.stats,
  });
  await Promise.all([operator.start(), caches.start()]);
  ready = true;
  engine.recompute();
  // The serving side needs the Mesh (trust domain, CA settings): start it once one exists.
  const serveWhenMeshExists = async (): Promise<void> => {
    for (;;) {
      const mesh = operator.caches.meshes.get(MESH_NAME);
      if (mesh && !mesh.metadata.deletionTimestamp) {
        try {
          controlPlane = await startControlPlane({
            kc,
            // Followed for rotation requests, CA settings, and a Mesh deleted and made again (new root).
            mesh: () => operator.caches.meshes.get(MESH_NAME),
            host: '0.0.0.0',
            port: config.grpcPort,
            clusterDomain: config.clusterDomain,
            pods: () => caches.pods.list(),
            // Their namespaces get a copy of the trust bundle, for the waypoints and gateways running there.
            gateways: () => operator.caches.gateways.list(),
            onNack: (r) => {
              rejections.push(r);
              if (rejections.length > MAX_REJECTIONS) rejections.shift();
              writeConfigStatus();
            },
            log,
          });
          if (lastConfig) controlPlane.config.update(lastConfig);
          writeConfigStatus();
          return;
        } catch (err) {
          log(`control plane: cannot start yet: ${err instanceof Error ? err.message : String(err)}`);
        }
      }
      await new Promise((r) => setTimeout(r, 1000));
    }
  };
  void serveWhenMeshExists();
  log(
    `operator ${config.identity} started (lease ${config.namespace}/ambit-operator, http :${config.httpPort})`,
  );

  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    log(`${signal}: stopping`);
    engine.stop();
    http.close();
    void controlPlane?.close();
    void Promise.all([operator.stop(), caches.stop()]).finally(() => process.exit(0));
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((err: unknown) => {
  console.error(`ambit-operator: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
