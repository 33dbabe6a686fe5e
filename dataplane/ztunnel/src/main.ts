#!/usr/bin/env node
// The ztunnel process (the image's entry point): config from the control plane (or a file), certificates from the
// CA, pods from the node agent, the proxy, and the admin ports. SIGTERM stops taking connections, lets those in
// flight finish for DRAIN_SECONDS, then exits; the node agent hands the pods to the next ztunnel.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as pb from '@ambit/codegen/proto';
import { ConfigSubscription, EMPTY_STATE, loadStaticConfig, type ProxyState } from '@ambit/config';
import { HandoverClient, SnapshotTracker, type HandoverMessage } from '@ambit/node-agent';
import { credentials } from '@grpc/grpc-js';
import { startAdminServers } from './admin/servers.ts';
import { parseSettings } from './config/settings.ts';
import { CaClient } from './identity/ca-client.ts';
import { CertManager } from './identity/cert-manager.ts';
import { nativeSockets } from './proxy/sockets.ts';
import { Ztunnel } from './proxy/ztunnel.ts';
import { ZtunnelMetrics } from './telemetry/metrics.ts';

function log(line: string): void {
  console.log(`${new Date().toISOString()} ${line}`);
}

async function main(): Promise<void> {
  const settings = parseSettings(process.env);
  const token = () => readFile(join(settings.credentialsDir, 'token'), 'utf8').then((t) => t.trim());
  const channel = async () =>
    credentials.createSsl(await readFile(join(settings.credentialsDir, 'root-cert.pem')));
  const channelOptions = settings.controlPlaneTlsName
    ? { 'grpc.ssl_target_name_override': settings.controlPlaneTlsName }
    : {};

  let state: ProxyState = EMPTY_STATE;
  let subscription: ConfigSubscription | undefined;
  const metrics = new ZtunnelMetrics();
  const certs = new CertManager({
    source: settings.controlPlane
      ? new CaClient({
          client: new pb.CertificateServiceClient(settings.controlPlane, await channel(), channelOptions),
          token,
        })
      : {
          fetch: () =>
            Promise.reject(new Error('no control plane: set CONTROL_PLANE_ADDRESS for certificates')),
        },
    log,
  });
  const ztunnel = new Ztunnel({
    node: settings.node,
    sockets: nativeSockets,
    certs,
    metrics,
    transport: settings.transport,
    log,
  });

  if (settings.localConfigPath) {
    const loaded = await loadStaticConfig(settings.localConfigPath);
    for (const r of loaded.rejected) log(`config: rejected ${r.kind} ${r.id}: ${r.reason}`);
    state = loaded.state;
    ztunnel.update(state);
  } else if (settings.controlPlane) {
    subscription = new ConfigSubscription({
      client: new pb.ConfigDiscoveryServiceClient(settings.controlPlane, await channel(), channelOptions),
      hello: {
        kind: pb.ProxyKind.PROXY_KIND_ZTUNNEL,
        node: settings.node,
        waypoint: '',
        gateway: '',
        protocolVersion: 1,
      },
      token,
      onUpdate: (next, rejected) => {
        for (const r of rejected) log(`config ${next.version}: rejected ${r.kind} ${r.id}: ${r.reason}`);
        state = next;
        ztunnel.update(next);
      },
      log,
    });
    subscription.start();
  }

  let snapshotDone = false;
  const tracker = new SnapshotTracker();
  const onHandover = async (msg: HandoverMessage): Promise<void> => {
    switch (msg.type) {
      case 'add':
      case 'keep':
        tracker.seen(msg.uid);
        return ztunnel.addPod(msg);
      case 'del':
        tracker.removed(msg.uid);
        return ztunnel.removePod(msg.uid);
      case 'snapshot-sent':
        for (const uid of tracker.snapshotSent()) ztunnel.removePod(uid);
        snapshotDone = true;
        return;
    }
  };
  const handover = new HandoverClient({
    path: settings.handoverSocket,
    handler: onHandover,
    onConnect: () => tracker.connected(),
    log,
  });
  handover.start();

  const admin = await startAdminServers(
    {
      state: () => state,
      pods: () => ztunnel.pods(),
      metrics: () => metrics.text(),
      notReady: () =>
        state.version === ''
          ? 'waiting for the first config'
          : !snapshotDone
            ? 'waiting for the node agent snapshot'
            : undefined,
    },
    settings.ports,
  );
  log(`ztunnel on node ${settings.node} started (${settings.transport} transport)`);

  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    log(`${signal}: draining for up to ${settings.drainMs} ms`);
    void (async () => {
      await handover.close();
      await ztunnel.drain(settings.drainMs);
      subscription?.stop();
      certs.stop();
      await admin.close();
      process.exit(0);
    })();
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((err: unknown) => {
  console.error(`ztunnel: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
