// Lookups over the config an ingress gateway holds (STYLE §8: plain data, synchronous), built once per config
// version: its listener ports and their route tables, and the policies its requests are checked against.
import type { Authorization, ProxyState, RouteTable } from '@ambit/config';

/** The Gateway object this proxy serves. */
export interface GatewayRef {
  readonly namespace: string;
  readonly name: string;
}

/** One listener port as the gateway serves it. */
export interface ListenerSpec {
  readonly port: number;
  /**
   * Only plain HTTP so far (HTTP/1.1 and HTTP/2 prior knowledge). The HTTPS slice adds `'HTTPS'` with the
   * listener's certificates (SNI per hostname), which the control plane is to send with the tables.
   */
  readonly protocol: 'HTTP';
}

export interface GatewayIndex {
  readonly state: ProxyState;
  readonly self: GatewayRef;
  /** One per listener port some table of this Gateway routes, ascending. */
  readonly listeners: readonly ListenerSpec[];
  /** The table of a listener port (`gateway:<ns>/<name>:<port>`). */
  table(port: number): RouteTable | undefined;
  /**
   * The policies every request is checked against, as an Envoy gateway applies them: those whose targetRefs name
   * this Gateway, and those without targets that are mesh-wide or in the Gateway's namespace. Selector policies
   * are left out (the gateway does not know its own pod's labels; see docs/ingress.md).
   */
  readonly policies: readonly Authorization[];
}

export function buildGatewayIndex(state: ProxyState, self: GatewayRef): GatewayIndex {
  const key = `${self.namespace}/${self.name}`;
  const tables = new Map<number, RouteTable>();
  for (const t of state.routeTables.values()) {
    if (t.gateway?.gateway === key) tables.set(t.gateway.port, t);
  }
  const target = `gateway:${key}`;
  const policies = [...state.authorizations.values()].filter((a) =>
    a.targets
      ? a.targets.includes(target)
      : a.scope === 'Global' || (a.scope === 'Namespace' && a.namespace === self.namespace),
  );
  return {
    state,
    self,
    listeners: [...tables.keys()].sort((a, b) => a - b).map((port) => ({ port, protocol: 'HTTP' })),
    table: (port) => tables.get(port),
    policies,
  };
}
