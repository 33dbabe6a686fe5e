#!/usr/bin/env node
// The ingress gateway process (the gateway image's entry point): its own certificate from the CA, config from the
// control plane (subscribed as gateway `<namespace>/<name>`) or a file, a listener per port its route tables name,
// and the admin ports (15000 config dump, 15020 metrics, 15021 health). SIGTERM stops taking connections, lets
// requests in flight finish for DRAIN_SECONDS, then exits.
import * as pb from '@ambit/codegen/proto';
import { startAdminServers } from '@ambit/ztunnel';
import { describeError } from '../describe.ts';
import { controlPlaneAccess, drainOnSignal, log } from '../proxy-process.ts';
import { WaypointMetrics } from '../telemetry/metrics.ts';
import { Gateway } from './gateway.ts';
import { parseGatewaySettings } from './settings.ts';

async function main(): Promise<void> {
  const settings = parseGatewaySettings(process.env);
  const access = await controlPlaneAccess(settings);
  const metrics = new WaypointMetrics();
  const gateway = new Gateway({
    self: { namespace: settings.namespace, name: settings.name },
    proxyName: settings.proxyName,
    identity: settings.identity,
    certs: access.certs,
    metrics,
    listenAddress: settings.listenAddress,
    upstreamHbonePort: settings.ports.upstreamHbone,
    log,
  });
  // Fetched before taking traffic, so the first request need not wait for a signing round trip. Without a control
  // plane (a config file) a certificate may still be unavailable: requests to mesh backends then fail, plain TCP
  // backends still work.
  await access.certManager.get(settings.identity).catch((err: unknown) => {
    log(`certificate for ${settings.identity}: ${describeError(err)}`);
  });
  const subscription = await access.config(
    {
      kind: pb.ProxyKind.PROXY_KIND_GATEWAY,
      node: '',
      waypoint: '',
      gateway: `${settings.namespace}/${settings.name}`,
    },
    (state) => gateway.update(state),
  );

  let draining: () => boolean = () => false;
  const admin = await startAdminServers(
    {
      state: () => gateway.state,
      pods: () => [],
      metrics: () => metrics.text(),
      notReady: () => (draining() ? 'draining' : gateway.notReady()),
    },
    settings.ports,
  );
  draining = drainOnSignal(settings.drainMs, async () => {
    await gateway.drain(settings.drainMs);
    subscription?.stop();
    access.certManager.stop();
    await admin.close();
  });
  log(
    `gateway ${settings.namespace}/${settings.name} (${settings.proxyName}) running as ${settings.identity}`,
  );
}

main().catch((err: unknown) => {
  console.error(`gateway: ${describeError(err)}`);
  process.exit(1);
});
