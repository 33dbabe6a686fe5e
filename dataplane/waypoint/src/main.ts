#!/usr/bin/env node
// The waypoint process (the image's entry point): its own certificate from the CA, config from the control plane
// (subscribed as waypoint `<namespace>/<name>`) or a file, HBONE on 15008, and the admin ports. SIGTERM stops
// taking CONNECTs, lets those in flight finish for DRAIN_SECONDS, then exits.
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import * as pb from '@ambit/codegen/proto';
import { ConfigSubscription, loadStaticConfig } from '@ambit/config';
import { CaClient, CertManager, startAdminServers, tlsMaterial } from '@ambit/ztunnel';
import { credentials } from '@grpc/grpc-js';
import { parseSettings } from './config/settings.ts';
import { describeError } from './describe.ts';
import { Waypoint } from './proxy/waypoint.ts';
import { WaypointMetrics } from './telemetry/metrics.ts';

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

  const certManager = new CertManager({
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
  const metrics = new WaypointMetrics();
  const waypoint = new Waypoint({
    self: { namespace: settings.namespace, name: settings.name },
    identity: settings.identity,
    certs: {
      get: async (id) => tlsMaterial(await certManager.get(id)),
      peek: (id) => {
        const c = certManager.peek(id);
        return c && tlsMaterial(c);
      },
    },
    metrics,
    upstreamHbonePort: settings.ports.upstreamHbone,
    log,
  });

  let subscription: ConfigSubscription | undefined;
  if (settings.localConfigPath) {
    const loaded = await loadStaticConfig(settings.localConfigPath);
    for (const r of loaded.rejected) log(`config: rejected ${r.kind} ${r.id}: ${r.reason}`);
    waypoint.update(loaded.state);
  } else if (settings.controlPlane) {
    subscription = new ConfigSubscription({
      client: new pb.ConfigDiscoveryServiceClient(settings.controlPlane, await channel(), channelOptions),
      hello: {
        kind: pb.ProxyKind.PROXY_KIND_WAYPOINT,
        node: '',
        waypoint: `${settings.namespace}/${settings.name}`,
        gateway: '',
        protocolVersion: 1,
      },
      token,
      onUpdate: (next, rejected) => {
        for (const r of rejected) log(`config ${next.version}: rejected ${r.kind} ${r.id}: ${r.reason}`);
        waypoint.update(next);
      },
      log,
    });
    subscription.start();
  }

  const listener = createServer({ allowHalfOpen: true, noDelay: true });
  const served = await waypoint.serve(listener);
  await new Promise<void>((resolve, reject) => {
    listener.once('error', reject);
    listener.listen(settings.ports.hbone, '0.0.0.0', resolve);
  });

  let draining = false;
  const admin = await startAdminServers(
    {
      state: () => waypoint.state,
      pods: () => [],
      metrics: () => metrics.text(),
      notReady: () =>
        draining ? 'draining' : waypoint.state.version === '' ? 'waiting for the first config' : undefined,
    },
    settings.ports,
  );
  log(
    `waypoint ${settings.namespace}/${settings.name} serving HBONE on :${settings.ports.hbone} as ${settings.identity}`,
  );

  const stop = (signal: string): void => {
    if (draining) return;
    draining = true;
    log(`${signal}: draining for up to ${settings.drainMs} ms`);
    void (async () => {
      listener.close();
      served.close();
      await waypoint.drain(settings.drainMs);
      subscription?.stop();
      certManager.stop();
      await admin.close();
      process.exit(0);
    })();
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((err: unknown) => {
  console.error(`waypoint: ${describeError(err)}`);
  process.exit(1);
});
