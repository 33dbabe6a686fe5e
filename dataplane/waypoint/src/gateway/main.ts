#!/usr/bin/env node
// The ingress gateway process (the gateway image's entry point): its own certificate from the CA, config from the
// control plane (subscribed as gateway `<namespace>/<name>`) or a file, a listener per port its route tables name,
// and the admin ports (15000 config dump, 15020 metrics, 15021 health). SIGTERM stops taking connections, lets
// requests in flight finish for DRAIN_SECONDS, then exits.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as pb from '@ambit/codegen/proto';
import { ConfigSubscription, loadStaticConfig } from '@ambit/config';
import { CaClient, CertManager, startAdminServers, tlsMaterial } from '@ambit/ztunnel';
import { credentials } from '@grpc/grpc-js';
import { describeError } from '../describe.ts';
import { WaypointMetrics } from '../telemetry/metrics.ts';
import { Gateway } from './gateway.ts';
import { parseGatewaySettings } from './settings.ts';

function log(line: string): void {
  console.log(`${new Date().toISOString()} ${line}`);
}

async function main(): Promise<void> {
  const settings = parseGatewaySettings(process.env);
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
  const gateway = new Gateway({
    self: { namespace: settings.namespace, name: settings.name },
    proxyName: settings.proxyName,
    identity: settings.identity,
    certs: {
      get: async (id) => tlsMaterial(await certManager.get(id)),
      peek: (id) => {
        const c = certManager.peek(id);
        return c && tlsMaterial(c);
      },
    },
    metrics,
    listenAddress: settings.listenAddress,
    upstreamHbonePort: settings.ports.upstreamHbone,
    log,
  });
  // Fetched before taking traffic, so the first request need not wait for a signing round trip. Without a control
  // plane (a config file) a certificate may still be unavailable: requests to mesh backends then fail, plain TCP
  // backends still work.
  await certManager.get(settings.identity).catch((err: unknown) => {
    log(`certificate for ${settings.identity}: ${describeError(err)}`);
  });

  let subscription: ConfigSubscription | undefined;
  if (settings.localConfigPath) {
    const loaded = await loadStaticConfig(settings.localConfigPath);
    for (const r of loaded.rejected) log(`config: rejected ${r.kind} ${r.id}: ${r.reason}`);
    await gateway.update(loaded.state);
  } else if (settings.controlPlane) {
    subscription = new ConfigSubscription({
      client: new pb.ConfigDiscoveryServiceClient(settings.controlPlane, await channel(), channelOptions),
      hello: {
        kind: pb.ProxyKind.PROXY_KIND_GATEWAY,
        node: '',
        waypoint: '',
        gateway: `${settings.namespace}/${settings.name}`,
        protocolVersion: 1,
      },
      token,
      onUpdate: (next, rejected) => {
        for (const r of rejected) log(`config ${next.version}: rejected ${r.kind} ${r.id}: ${r.reason}`);
        void gateway.update(next);
      },
      log,
    });
    subscription.start();
  }

  let draining = false;
  const admin = await startAdminServers(
    {
      state: () => gateway.state,
      pods: () => [],
      metrics: () => metrics.text(),
      notReady: () => (draining ? 'draining' : gateway.notReady()),
    },
    settings.ports,
  );
  log(
    `gateway ${settings.namespace}/${settings.name} (${settings.proxyName}) running as ${settings.identity}`,
  );

  const stop = (signal: string): void => {
    if (draining) return;
    draining = true;
    log(`${signal}: draining for up to ${settings.drainMs} ms`);
    void (async () => {
      await gateway.drain(settings.drainMs);
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
  console.error(`gateway: ${describeError(err)}`);
  process.exit(1);
});
