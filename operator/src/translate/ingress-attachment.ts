// Which listeners of an ingress Gateway (class `ambit`/`istio`) an HTTPRoute or GRPCRoute attaches to, as Gateway
// API decides it (pure):
//  1. The parentRef picks listeners: by `sectionName` (the listener's name) and/or `port`; neither means all.
//     A name or port the Gateway does not have is `NoMatchingParent`.
//  2. A listener takes the route only if it serves HTTP or HTTPS, its `allowedRoutes.kinds` (default HTTPRoute and
//     GRPCRoute) include the route's kind, and `allowedRoutes.namespaces` (default Same) admits the route's
//     namespace; none does: `NotAllowedByListeners`.
//  3. Of those, a listener with a hostname takes the route only if some route hostname intersects it (exact, or
//     a `*.` wildcard on either side covering the other); none does: `NoMatchingListenerHostname`.
// A parentRef to a Gateway that is not ours (missing, or another class) gets nothing: its status is not ours to write.
import type { Gateway } from '@ambit/codegen/crds';
import { matchesSelector, type LabelSelector } from '../reconcile/label-selector.ts';
import { Reason } from './status.ts';

const GATEWAY_GROUP = 'gateway.networking.k8s.io';
const ROUTE_KINDS = ['HTTPRoute', 'GRPCRoute'];

export interface GatewayParentRef {
  readonly group?: string;
  readonly kind?: string;
  readonly name: string;
  readonly namespace?: string;
  readonly port?: number;
  readonly sectionName?: string;
}

export interface AttachingRoute {
  readonly kind: 'HTTPRoute' | 'GRPCRoute';
  readonly namespace: string;
  readonly hostnames: readonly string[];
}

/** The ingress Gateways Ambit serves and the namespaces' labels (for `allowedRoutes.namespaces.selector`). */
export interface IngressGateways {
  gateway(namespace: string, name: string): Gateway | undefined;
  namespaceLabels(namespace: string): Readonly<Record<string, string>> | undefined;
  /** Every HTTP or HTTPS listener port of every ingress Gateway (`<ns>/<name>`), each once. @default none */
  listenerPorts?(): readonly { readonly gateway: string; readonly port: number }[];
}

export type Attachment =
  | {
      readonly kind: 'attached';
      readonly gateway: string;
      readonly listeners: readonly string[];
      /** Per attached listener: its port and the hosts the route serves there (absent: any host). */
      readonly serving: readonly { readonly port: number; readonly hosts?: readonly string[] }[];
    }
  | { readonly kind: 'refused'; readonly reason: Reason; readonly message: string }
  | { readonly kind: 'not-ours' };

/** Whether a parentRef names a Gateway (the default kind and group). */
export function isGatewayParent(p: GatewayParentRef): boolean {
  return (p.kind ?? 'Gateway') === 'Gateway' && (p.group ?? GATEWAY_GROUP) === GATEWAY_GROUP;
}

/** Whether two hostnames (each exact or `*.suffix`) can name the same host. */
export function hostnamesIntersect(a: string, b: string): boolean {
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  if (x === y) return true;
  const covers = (wild: string, other: string) =>
    wild.startsWith('*.') && other.endsWith(wild.slice(1)) && other.length > wild.length - 1;
  return covers(x, y) || covers(y, x);
}

type Listener = Gateway['spec']['listeners'][number];

function admitsKind(l: Listener, kind: string): boolean {
  const kinds = l.allowedRoutes?.kinds;
  if (!kinds) return ROUTE_KINDS.includes(kind);
  return kinds.some((k) => (k.group ?? GATEWAY_GROUP) === GATEWAY_GROUP && k.kind === kind);
}

const OPERATORS = ['In', 'NotIn', 'Exists', 'DoesNotExist'] as const;

/** The selector with its operators checked; one the apiserver should have refused admits nothing (fails closed). */
function knownSelector(sel: {
  matchLabels?: Record<string, string | undefined>;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
}): LabelSelector | undefined {
  const expressions: NonNullable<LabelSelector['matchExpressions']>[number][] = [];
  for (const e of sel.matchExpressions ?? []) {
    const operator = OPERATORS.find((o) => o === e.operator);
    if (!operator) return undefined;
    expressions.push({ key: e.key, operator, ...(e.values ? { values: e.values } : {}) });
  }
  return { ...(sel.matchLabels ? { matchLabels: sel.matchLabels } : {}), matchExpressions: expressions };
}

function admitsNamespace(
  l: Listener,
  gwNamespace: string,
  route: AttachingRoute,
  g: IngressGateways,
): boolean {
  const ns = l.allowedRoutes?.namespaces;
  switch (ns?.from ?? 'Same') {
    case 'All':
      return true;
    case 'Same':
      return route.namespace === gwNamespace;
    case 'Selector': {
      const selector = ns?.selector && knownSelector(ns.selector);
      return selector !== undefined && matchesSelector(selector, g.namespaceLabels(route.namespace) ?? {});
    }
    default:
      return false;
  }
}

export function attachToGateway(p: GatewayParentRef, route: AttachingRoute, g: IngressGateways): Attachment {
  const namespace = p.namespace ?? route.namespace;
  const gw = g.gateway(namespace, p.name);
  if (!gw) return { kind: 'not-ours' };
  const id = `${namespace}/${p.name}`;
  const refuse = (reason: Reason, message: string): Attachment => ({ kind: 'refused', reason, message });
  let candidates = gw.spec.listeners;
  if (p.sectionName !== undefined) {
    candidates = candidates.filter((l) => l.name === p.sectionName);
    if (candidates.length === 0)
      return refuse(Reason.NoMatchingParent, `Gateway ${id} has no listener ${p.sectionName}`);
  }
  if (p.port !== undefined) {
    candidates = candidates.filter((l) => l.port === p.port);
    if (candidates.length === 0)
      return refuse(Reason.NoMatchingParent, `Gateway ${id} has no listener on port ${p.port}`);
  }
  const admitting = candidates.filter(
    (l) =>
      (l.protocol === 'HTTP' || l.protocol === 'HTTPS') &&
      admitsKind(l, route.kind) &&
      admitsNamespace(l, namespace, route, g),
  );
  if (admitting.length === 0) {
    return refuse(
      Reason.NotAllowedByListeners,
      `no listener of Gateway ${id} admits ${route.kind}s from namespace ${route.namespace} (spec.listeners[].allowedRoutes)`,
    );
  }
  const serving = admitting.filter(
    (l) =>
      l.hostname === undefined ||
      route.hostnames.length === 0 ||
      route.hostnames.some((h) => hostnamesIntersect(h, l.hostname ?? '')),
  );
  if (serving.length === 0) {
    const hosts = [...new Set(admitting.map((l) => l.hostname))].join(', ');
    return refuse(
      Reason.NoMatchingListenerHostname,
      `spec.hostnames ${route.hostnames.join(', ')} match no listener hostname of Gateway ${id} (${hosts})`,
    );
  }
  return {
    kind: 'attached',
    gateway: id,
    listeners: serving.map((l) => l.name),
    serving: serving.map((l) => {
      const hosts = servedHosts(route.hostnames, l.hostname);
      return { port: l.port, ...(hosts ? { hosts } : {}) };
    }),
  };
}

/**
 * The hosts a route serves on a listener: the intersection of its hostnames with the listener's, each as the more
 * specific of the pair (Gateway API). Undefined: any host.
 */
export function servedHosts(
  routeHostnames: readonly string[],
  listenerHostname: string | undefined,
): string[] | undefined {
  const listener = listenerHostname?.toLowerCase();
  const routes = routeHostnames.map((h) => h.toLowerCase());
  if (routes.length === 0) return listener === undefined ? undefined : [listener];
  if (listener === undefined) return [...new Set(routes)];
  const out = new Set<string>();
  for (const r of routes) {
    if (!hostnamesIntersect(r, listener)) continue;
    // The narrower of the two: an exact name over a wildcard; of two wildcards, the longer suffix.
    if (!r.startsWith('*.')) out.add(r);
    else if (!listener.startsWith('*.')) out.add(listener);
    else out.add(r.length >= listener.length ? r : listener);
  }
  return [...out];
}
