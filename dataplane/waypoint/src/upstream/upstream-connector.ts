// Opens the byte stream to one endpoint: an HBONE CONNECT to `<pod ip>:<port>` through the pod's node ztunnel
// (`<pod ip>:15008`), presenting the proxy's own certificate (DESIGN §1, §8), or plain TCP to a workload outside
// the mesh. An ingress gateway may instead CONNECT to a Service address through the Service's waypoint
// (`EndpointTarget.via`), which is always HBONE. The original caller's identity rides in the CONNECT's `baggage` for telemetry only
// (docs/identity-behind-waypoint.md), so a stream is only ever reused for the same caller identity.
import { connect } from 'node:net';
import { once } from 'node:events';
import type { Duplex } from 'node:stream';
import { HboneError, type HboneClient, type WorkloadTlsMaterial } from '@ambit/hbone';
import { WaypointError } from '../errors.ts';
import type { EndpointTarget } from './endpoint-target.ts';

/** The caller behind this waypoint, as carried to the destination (never used for policy there). */
export interface ForwardedSource {
  /** `spiffe://…` of the HBONE peer that reached the waypoint. */
  readonly identity: string;
  readonly namespace?: string;
  readonly workload?: string;
}

/** Baggage key names (OpenTelemetry semantic conventions style, as Istio's own `k8s.*` baggage keys). */
export const SOURCE_PRINCIPAL_KEY = 'k8s.source.principal';

/**
 * W3C baggage for the CONNECT: `k8s.source.principal=<spiffe id>` (plus namespace and workload when known). SPIFFE
 * ids are made of baggage-safe characters (`:` and `/` are allowed octets); others are percent-encoded.
 */
export function sourceBaggage(s: ForwardedSource): string {
  const enc = (v: string) => encodeURIComponent(v).replace(/%3A/gi, ':').replace(/%2F/gi, '/');
  const parts = [`${SOURCE_PRINCIPAL_KEY}=${enc(s.identity)}`];
  if (s.namespace !== undefined) parts.push(`k8s.source.namespace=${enc(s.namespace)}`);
  if (s.workload !== undefined) parts.push(`k8s.source.workload=${enc(s.workload)}`);
  return parts.join(',');
}

export interface UpstreamConnectorOptions {
  readonly hbone: HboneClient;
  /** The proxy's SPIFFE id and current certificate (read per dial: it rotates). */
  readonly identity: string;
  material(): Promise<WorkloadTlsMaterial>;
  /** Port of the ztunnels' HBONE listeners. @default 15008 */
  readonly hbonePort?: number;
}

export type UpstreamConnector = (
  target: EndpointTarget,
  source: ForwardedSource | undefined,
) => Promise<Duplex>;

export function upstreamConnector(o: UpstreamConnectorOptions): UpstreamConnector {
  const hbonePort = o.hbonePort ?? 15008;
  return async (target, source) => {
    try {
      if (target.via === undefined && target.workload.protocol !== 'HBONE') {
        const socket = connect({ host: target.ip, port: target.port, noDelay: true });
        try {
          await once(socket, 'connect');
        } catch (err) {
          socket.destroy();
          throw err;
        }
        return socket;
      }
      return await o.hbone.connect({
        source: { ...(await o.material()), identity: o.identity },
        destination: {
          address: `${target.ip}:${target.port}`,
          proxy: `${target.via ?? target.ip}:${hbonePort}`,
          identities: [target.identity],
        },
        ...(source ? { headers: { baggage: sourceBaggage(source) } } : {}),
      });
    } catch (err) {
      const status = err instanceof HboneError && err.status !== undefined ? ` (CONNECT ${err.status})` : '';
      throw new WaypointError(
        'ERR_WAYPOINT_UPSTREAM_CONNECT',
        `connecting to ${target.ip}:${target.port}${status} failed: ${err instanceof Error ? err.message : String(err)}`,
        { cause: err },
      );
    }
  };
}
