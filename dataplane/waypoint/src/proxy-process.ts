// What the waypoint and gateway processes share around their proxy: the control-plane channel (bound token, the
// mesh root), a certificate manager for their own identity, config from the control plane or a file, and a
// drain-then-exit on SIGTERM. Each entry point (main.ts, gateway/main.ts) builds its proxy between these.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as pb from '@ambit/codegen/proto';
import { ConfigSubscription, loadStaticConfig, type ProxyState } from '@ambit/config';
import { CaClient, CertManager, tlsMaterial } from '@ambit/ztunnel';
import { credentials } from '@grpc/grpc-js';
import type { WaypointCertificates } from './proxy/waypoint.ts';

export function log(line: string): void {
  console.log(`${new Date().toISOString()} ${line}`);
}

/** The settings both processes read (config/settings.ts, gateway/settings.ts). */
export interface ProxyProcessSettings {
  readonly credentialsDir: string;
  readonly controlPlane?: string | undefined;
  readonly controlPlaneTlsName?: string | undefined;
  readonly localConfigPath?: string | undefined;
}

export interface ControlPlaneAccess {
  readonly certManager: CertManager;
  /** The certificates in the form the proxies take. */
  readonly certs: WaypointCertificates;
  /**
   * Config from the file when one is set, else a subscription with `hello` (started here); `update` gets every
   * accepted state. Returns the subscription, to stop on exit.
   */
  config(
    hello: Omit<pb.Hello, 'protocolVersion'>,
    update: (state: ProxyState) => void | Promise<void>,
  ): Promise<ConfigSubscription | undefined>;
}

export async function controlPlaneAccess(settings: ProxyProcessSettings): Promise<ControlPlaneAccess> {
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
  return {
    certManager,
    certs: {
      get: async (id) => tlsMaterial(await certManager.get(id)),
      peek: (id) => {
        const c = certManager.peek(id);
        return c && tlsMaterial(c);
      },
    },
    async config(hello, update) {
      if (settings.localConfigPath) {
        const loaded = await loadStaticConfig(settings.localConfigPath);
        for (const r of loaded.rejected) log(`config: rejected ${r.kind} ${r.id}: ${r.reason}`);
        await update(loaded.state);
        return undefined;
      }
      if (!settings.controlPlane) return undefined;
      const subscription = new ConfigSubscription({
        client: new pb.ConfigDiscoveryServiceClient(settings.controlPlane, await channel(), channelOptions),
        hello: { ...hello, protocolVersion: 1 },
        token,
        onUpdate: (next, rejected) => {
          for (const r of rejected) log(`config ${next.version}: rejected ${r.kind} ${r.id}: ${r.reason}`);
          void update(next);
        },
        log,
      });
      subscription.start();
      return subscription;
    },
  };
}

/** Runs `drain` once on SIGTERM or SIGINT, then exits 0. Returns whether draining began (for readiness). */
export function drainOnSignal(drainMs: number, drain: () => Promise<void>): () => boolean {
  let draining = false;
  const stop = (signal: string): void => {
    if (draining) return;
    draining = true;
    log(`${signal}: draining for up to ${drainMs} ms`);
    void drain().finally(() => process.exit(0));
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  return () => draining;
}
