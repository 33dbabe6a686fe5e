// Converts records between the domain model and the protocol messages, at one edge (STYLE §15). Decoding checks
// each record on its own, so that a bad record is rejected alone with its reason (STYLE §7, phase 1).
import * as pb from '@ambit/codegen/proto';
import { isIP } from 'node:net';
import { parseIpv4Cidr } from './matchers.ts';
import type { L7Match } from './l7-model.ts';
import type {
  AnyOf,
  Authorization,
  Match,
  MtlsMode,
  MtlsPolicy,
  Rule,
  Service,
  SourceRef,
  WaypointRef,
  Workload,
} from './model.ts';

/** A record that cannot be taken, named by kind and id, with the reason. */
export class RecordError extends Error {
  readonly code = 'ERR_CONFIG_RECORD';
  readonly kind: string;
  readonly id: string;
  constructor(kind: string, id: string, reason: string) {
    super(`${kind} ${JSON.stringify(id)}: ${reason}`);
    this.kind = kind;
    this.id = id;
  }
}

const MTLS_TO_PB = {
  STRICT: pb.MtlsMode.MTLS_MODE_STRICT,
  PERMISSIVE: pb.MtlsMode.MTLS_MODE_PERMISSIVE,
} as const;
const SCOPE_TO_PB = {
  Global: pb.AuthorizationScope.AUTHORIZATION_SCOPE_GLOBAL,
  Namespace: pb.AuthorizationScope.AUTHORIZATION_SCOPE_NAMESPACE,
  WorkloadSelector: pb.AuthorizationScope.AUTHORIZATION_SCOPE_WORKLOAD_SELECTOR,
} as const;
const ACTION_TO_PB = {
  Allow: pb.AuthorizationAction.AUTHORIZATION_ACTION_ALLOW,
  Deny: pb.AuthorizationAction.AUTHORIZATION_ACTION_DENY,
} as const;

function invert<K extends string, V extends string>(m: Readonly<Record<K, V>>): Map<V, K> {
  return new Map(Object.entries(m).map(([k, v]) => [v as V, k as K]));
}
const MTLS_FROM_PB = invert(MTLS_TO_PB);
const SCOPE_FROM_PB = invert(SCOPE_TO_PB);
const ACTION_FROM_PB = invert(ACTION_TO_PB);

/** Checks while decoding one record; `fail` throws a RecordError naming it. */
export class Decoder {
  readonly kind: string;
  readonly id: string;
  constructor(kind: string, id: string) {
    this.kind = kind;
    this.id = id;
    if (id === '') this.fail('empty id');
  }
  fail(reason: string): never {
    throw new RecordError(this.kind, this.id, reason);
  }
  known<K>(map: Map<string, K>, value: string, field: string): K {
    const v = map.get(value);
    if (v === undefined) this.fail(`${field}: unknown value ${value}`);
    return v;
  }
  ip(value: string, field: string): string {
    if (isIP(value) === 0) this.fail(`${field}: not an IP address: ${JSON.stringify(value)}`);
    return value;
  }
  cidr(value: string, field: string): string {
    if (!value.includes(':') && !parseIpv4Cidr(value))
      this.fail(`${field}: not a CIDR: ${JSON.stringify(value)}`);
    return value;
  }
  port(value: number, field: string): number {
    if (!Number.isInteger(value) || value < 1 || value > 65535) this.fail(`${field}: not a port: ${value}`);
    return value;
  }
}

export function sourceTo(s: SourceRef): pb.SourceRef {
  return { ...s };
}
export function sourceFrom(s: pb.SourceRef | undefined): SourceRef {
  return { group: s?.group ?? '', kind: s?.kind ?? '', namespace: s?.namespace ?? '', name: s?.name ?? '' };
}
function waypointFrom(w: pb.WaypointRef | undefined): { waypoint?: WaypointRef } {
  return w && w.name !== '' ? { waypoint: { namespace: w.namespace, name: w.name } } : {};
}

function mtlsTo(m: MtlsPolicy): pb.MtlsPolicy {
  return {
    mode: MTLS_TO_PB[m.mode],
    ports: Object.fromEntries(Object.entries(m.ports).map(([p, v]) => [p, MTLS_TO_PB[v]])),
  };
}
function mtlsFrom(m: pb.MtlsPolicy | undefined, d: Decoder): MtlsPolicy {
  if (!m) return { mode: 'PERMISSIVE', ports: {} };
  const ports: Record<number, MtlsMode> = {};
  for (const [p, v] of Object.entries(m.ports))
    ports[d.port(Number(p), 'mtls.ports')] = d.known(MTLS_FROM_PB, v, 'mtls.ports');
  return { mode: d.known(MTLS_FROM_PB, m.mode, 'mtls.mode'), ports };
}

export function workloadToProto(w: Workload): pb.Workload {
  return {
    ...w,
    addresses: [...w.addresses],
    authorizationPolicies: [...w.authorizationPolicies],
    protocol:
      w.protocol === 'HBONE'
        ? pb.TunnelProtocol.TUNNEL_PROTOCOL_HBONE
        : pb.TunnelProtocol.TUNNEL_PROTOCOL_NONE,
    mtls: mtlsTo(w.mtls),
    source: sourceTo(w.source),
  };
}

export function workloadFromProto(p: pb.Workload): Workload {
  const d = new Decoder('Workload', p.uid);
  if (p.addresses.length === 0) d.fail('no addresses');
  const protocol =
    p.protocol === pb.TunnelProtocol.TUNNEL_PROTOCOL_HBONE
      ? 'HBONE'
      : p.protocol === pb.TunnelProtocol.TUNNEL_PROTOCOL_NONE
        ? 'NONE'
        : d.fail(`protocol: unknown value ${p.protocol}`);
  return {
    uid: p.uid,
    name: p.name,
    namespace: p.namespace,
    addresses: p.addresses.map((a) => d.ip(a, 'addresses')),
    node: p.node,
    serviceAccount: p.serviceAccount,
    trustDomain: p.trustDomain,
    canonicalName: p.canonicalName,
    canonicalRevision: p.canonicalRevision,
    workloadName: p.workloadName,
    protocol,
    ...waypointFrom(p.waypoint),
    mtls: mtlsFrom(p.mtls, d),
    authorizationPolicies: p.authorizationPolicies,
    ready: p.ready,
    source: sourceFrom(p.source),
  };
}

export function serviceToProto(s: Service): pb.Service {
  return {
    ...s,
    ingressUseWaypoint: s.ingressUseWaypoint ?? false,
    vips: [...s.vips],
    ports: s.ports.map((p) => ({
      name: p.name,
      port: p.port,
      protocol: p.protocol,
      appProtocol: p.appProtocol ?? '',
    })),
    endpoints: s.endpoints.map((e) => ({
      workloadUid: e.workloadUid,
      ports: { ...e.ports },
      ready: e.ready,
    })),
    source: sourceTo(s.source),
  };
}

export function serviceFromProto(p: pb.Service): Service {
  const d = new Decoder('Service', p.id);
  return {
    id: p.id,
    name: p.name,
    namespace: p.namespace,
    hostname: p.hostname,
    vips: p.vips.map((v) => d.ip(v, 'vips')),
    ports: p.ports.map((sp) => ({
      name: sp.name,
      port: d.port(sp.port, 'ports'),
      protocol: sp.protocol,
      ...(sp.appProtocol ? { appProtocol: sp.appProtocol } : {}),
    })),
    ...waypointFrom(p.waypoint),
    ...(p.ingressUseWaypoint ? { ingressUseWaypoint: true } : {}),
    endpoints: p.endpoints.map((e) => ({
      workloadUid: e.workloadUid,
      ports: Object.fromEntries(
        Object.entries(e.ports).map(([k, v]) => [
          d.port(Number(k), 'endpoints.ports'),
          d.port(v, 'endpoints.ports'),
        ]),
      ),
      ready: e.ready,
    })),
    source: sourceFrom(p.source),
  };
}

function matchFrom(m: pb.Match, d: Decoder): Match {
  return {
    principals: m.principals,
    notPrincipals: m.notPrincipals,
    namespaces: m.namespaces,
    notNamespaces: m.notNamespaces,
    sourceIps: m.sourceIps.map((c) => d.cidr(c, 'sourceIps')),
    notSourceIps: m.notSourceIps.map((c) => d.cidr(c, 'notSourceIps')),
    destinationIps: m.destinationIps.map((c) => d.cidr(c, 'destinationIps')),
    notDestinationIps: m.notDestinationIps.map((c) => d.cidr(c, 'notDestinationIps')),
    destinationPorts: m.destinationPorts.map((p) => d.port(p, 'destinationPorts')),
    notDestinationPorts: m.notDestinationPorts.map((p) => d.port(p, 'notDestinationPorts')),
    ...(m.l7 ? { l7: l7From(m.l7, d) } : {}),
  };
}

function l7From(m: pb.L7Match, d: Decoder): L7Match {
  const methods = (list: string[], field: string) =>
    list.map((x) =>
      /^[A-Z]+$/.test(x) ? x : d.fail(`${field}: not an uppercase method: ${JSON.stringify(x)}`),
    );
  const headers = (list: pb.HeaderValues[], field: string) =>
    list.map((h) => {
      if (h.name === '') d.fail(`${field}: empty header name`);
      return { name: h.name.toLowerCase(), values: h.values };
    });
  return {
    methods: methods(m.methods, 'l7.methods'),
    notMethods: methods(m.notMethods, 'l7.notMethods'),
    paths: m.paths,
    notPaths: m.notPaths,
    hosts: m.hosts,
    notHosts: m.notHosts,
    headers: headers(m.headers, 'l7.headers'),
    notHeaders: headers(m.notHeaders, 'l7.notHeaders'),
  };
}

export function authorizationToProto(a: Authorization): pb.Authorization {
  const rules: pb.Rule[] = a.rules.map((r: Rule) => ({
    allOf: r.allOf.map((x: AnyOf) => ({ matches: x.matches.map((m) => ({ ...m }) as pb.Match) })),
  }));
  return {
    ...a,
    scope: SCOPE_TO_PB[a.scope],
    action: ACTION_TO_PB[a.action],
    rules,
    source: sourceTo(a.source),
    targets: [...(a.targets ?? [])],
  };
}

export function authorizationFromProto(p: pb.Authorization): Authorization {
  const d = new Decoder('Authorization', p.id);
  return {
    id: p.id,
    name: p.name,
    namespace: p.namespace,
    scope: d.known(SCOPE_FROM_PB, p.scope, 'scope'),
    action: d.known(ACTION_FROM_PB, p.action, 'action'),
    rules: p.rules.map((r) => ({
      allOf: r.allOf.map((x) => ({ matches: x.matches.map((m) => matchFrom(m, d)) })),
    })),
    source: sourceFrom(p.source),
    ...(p.targets.length > 0
      ? {
          targets: p.targets.map((t) =>
            /^(service|gateway):[^/]+\/[^/]+$/.test(t)
              ? t
              : d.fail(`targets: not service:|gateway:<ns>/<name>: ${t}`),
          ),
        }
      : {}),
  };
}
