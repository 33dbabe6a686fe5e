#!/usr/bin/env node
// The waypoint process (the image's entry point): its own certificate from the CA, config from the control plane
// (subscribed as waypoint `<namespace>/<name>`) or a file, HBONE on 15008, and the admin ports. SIGTERM stops
// taking CONNECTs, lets those in flight finish for DRAIN_SECONDS, then exits.
import { createServer } from 'node:net';
import * as pb from '@ambit/codegen/proto';
import { startAdminServers } from '@ambit/ztunnel';
import { parseSettings } from './config/settings.ts';
import { describeError } from './describe.ts';
import { controlPlaneAccess, drainOnSignal, log } from './proxy-process.ts';
import { Waypoint } from './proxy/waypoint.ts';
import { WaypointMetrics } from './telemetry/metrics.ts';

async function main(): Promise<void> {
  const settings = parseSettings(process.env);
  const access = await controlPlaneAccess(settings);
  const metrics = new WaypointMetrics();
  const waypoint = new Waypoint({
    self: { namespace: settings.namespace, name: settings.name },
    identity: settings.identity,
    certs: access.certs,
    metrics,
    upstreamHbonePort: settings.ports.upstreamHbone,
    log,
  });
  const subscription = await access.config(
    {
      kind: pb.ProxyKind.PROXY_KIND_WAYPOINT,
      node: '',
      waypoint: `${settings.namespace}/${settings.name}`,
      gateway: '',
    },
    (state) => waypoint.update(state),
  );

  const listener = createServer({ allowHalfOpen: true, noDelay: true });
  const served = await waypoint.serve(listener);
  await new Promise<void>((resolve, reject) => {
    listener.once('error', reject);
    listener.listen(settings.ports.hbone, '0.0.0.0', resolve);
  });

  let draining: () => boolean = () => false;
  const admin = await startAdminServers(
    {
      state: () => waypoint.state,
      pods: () => [],
      metrics: () => metrics.text(),
      notReady: () =>
        draining() ? 'draining' : waypoint.state.version === '' ? 'waiting for the first config' : undefined,
    },
    settings.ports,
  );
  draining = drainOnSignal(settings.drainMs, async () => {
    listener.close();
    served.close();
    await waypoint.drain(settings.drainMs);
    subscription?.stop();
    access.certManager.stop();
    await admin.close();
  });
  log(
    `waypoint ${settings.namespace}/${settings.name} serving HBONE on :${settings.ports.hbone} as ${settings.identity}`,
  );
}

main().catch((err: unknown) => {
  console.error(`waypoint: ${describeError(err)}`);
  process.exit(1);
});
