// The status of an ingress Gateway (class `ambit`/`istio`), pure: Accepted and Programmed with Gateway API's
// reasons, the Service's address, and per listener Accepted, Conflicted, ResolvedRefs, Programmed, its supported
// route kinds and the number of routes attached to it (counted by route translation and handed in).
import type { Gateway, ReferenceGrant } from '@ambit/codegen/crds';
import type { V1Service } from '@kubernetes/client-node';
import { referenceAllowed } from '../translate/reference-grant.ts';
import { mergeConditions, type Condition, type ConditionInput } from './conditions.ts';
import type { Admission } from './waypoint-admission.ts';

const GATEWAY_GROUP = 'gateway.networking.k8s.io';
/** Route kinds an HTTP or HTTPS listener of ours serves. */
const ROUTE_KINDS = ['HTTPRoute', 'GRPCRoute'] as const;

type Listener = Gateway['spec']['listeners'][number];

export interface RouteGroupKind {
  group: string;
  kind: string;
}

/** The Gateway status fields we write. */
export interface IngressGatewayStatus {
  addresses?: { type: 'IPAddress' | 'Hostname'; value: string }[];
  conditions: Condition[];
  listeners: {
    name: string;
    attachedRoutes: number;
    supportedKinds: RouteGroupKind[];
    conditions: Condition[];
  }[];
}

export interface IngressStatusInputs {
  readonly gateway: Gateway;
  readonly admission: Admission;
  /** The proxy's Service `<gateway>-<class>`, once it exists. */
  readonly service: V1Service | undefined;
  readonly referenceGrants: readonly ReferenceGrant[];
  /** Routes attached to a listener (by its name), as route translation counts them. */
  attachedRoutes(listener: string): number;
  readonly now: Date;
}

/** What is wrong with one listener on its own (protocol, TLS, route kinds), or nothing. */
interface ListenerVerdict {
  readonly accepted: { ok: true } | { ok: false; reason: string; message: string };
  readonly resolvedRefs: { ok: true } | { ok: false; reason: string; message: string };
  readonly supportedKinds: RouteGroupKind[];
}

function judgeListener(gw: Gateway, l: Listener, grants: readonly ReferenceGrant[]): ListenerVerdict {
  const ns = gw.metadata.namespace ?? '';
  if (l.protocol !== 'HTTP' && l.protocol !== 'HTTPS') {
    return {
      accepted: {
        ok: false,
        reason: 'UnsupportedProtocol',
        message: `listener ${l.name}: protocol ${l.protocol} is not supported (HTTP and HTTPS are)`,
      },
      resolvedRefs: { ok: true },
      supportedKinds: [],
    };
  }
  // Route kinds: the listed ones we serve; a listed kind we do not serve is an error of the listener.
  const listed = l.allowedRoutes?.kinds;
  const supportedKinds: RouteGroupKind[] = [];
  const unsupported: string[] = [];
  for (const k of listed ?? ROUTE_KINDS.map((kind) => ({ group: GATEWAY_GROUP, kind }))) {
    const group = k.group ?? GATEWAY_GROUP;
    if (group === GATEWAY_GROUP && (ROUTE_KINDS as readonly string[]).includes(k.kind))
      supportedKinds.push({ group, kind: k.kind });
    else unsupported.push(`${group}/${k.kind}`);
  }
  let resolvedRefs: ListenerVerdict['resolvedRefs'] = { ok: true };
  if (unsupported.length > 0) {
    resolvedRefs = {
      ok: false,
      reason: 'InvalidRouteKinds',
      message: `listener ${l.name}: spec.listeners[].allowedRoutes.kinds: ${unsupported.join(', ')} not supported (HTTPRoute and GRPCRoute are)`,
    };
  }
  if (l.protocol === 'HTTPS') {
    if (l.tls?.mode === 'Passthrough') {
      return {
        accepted: {
          ok: false,
          reason: 'UnsupportedProtocol',
          message: `listener ${l.name}: HTTPS terminates TLS; tls.mode Passthrough is for protocol TLS`,
        },
        resolvedRefs,
        supportedKinds,
      };
    }
    const refs = l.tls?.certificateRefs ?? [];
    const problems: string[] = [];
    let reason = 'InvalidCertificateRef';
    if (refs.length === 0) problems.push('an HTTPS listener needs tls.certificateRefs');
    for (const r of refs) {
      const group = r.group ?? '';
      const kind = r.kind ?? 'Secret';
      const refNs = r.namespace ?? ns;
      if (!(group === '' || group === 'core') || kind !== 'Secret') {
        problems.push(`tls.certificateRefs: ${group || 'core'}/${kind} ${r.name} is not a Secret`);
      } else if (
        !referenceAllowed(
          grants,
          { group: GATEWAY_GROUP, kind: 'Gateway', namespace: ns },
          { group: '', kind: 'Secret', namespace: refNs, name: r.name },
        )
      ) {
        reason = 'RefNotPermitted';
        problems.push(
          `tls.certificateRefs: no ReferenceGrant in namespace ${refNs} allows Gateways from ${ns} to use Secret ${r.name}`,
        );
      }
    }
    if (problems.length > 0)
      resolvedRefs = { ok: false, reason, message: `listener ${l.name}: ${problems.join('; ')}` };
  }
  return { accepted: { ok: true }, resolvedRefs, supportedKinds };
}

/** Listeners that clash: same port with another protocol, or same port, protocol and hostname. */
function conflicts(listeners: readonly Listener[]): Map<string, { reason: string; message: string }> {
  const out = new Map<string, { reason: string; message: string }>();
  for (const l of listeners) {
    for (const o of listeners) {
      if (o === l || o.port !== l.port) continue;
      if (o.protocol !== l.protocol) {
        out.set(l.name, {
          reason: 'ProtocolConflict',
          message: `listener ${l.name}: port ${l.port} is also listener ${o.name} with protocol ${o.protocol}`,
        });
      } else if ((o.hostname ?? '') === (l.hostname ?? '') && !out.has(l.name)) {
        out.set(l.name, {
          reason: 'HostnameConflict',
          message: `listener ${l.name}: listener ${o.name} has the same port, protocol and hostname`,
        });
      }
    }
  }
  return out;
}

/** The address clients use: the load balancer's for type LoadBalancer, else the cluster IP. */
function serviceAddress(
  service: V1Service | undefined,
): { type: 'IPAddress' | 'Hostname'; value: string } | undefined {
  if (!service?.spec) return undefined;
  if (service.spec.type === 'LoadBalancer') {
    const ingress = service.status?.loadBalancer?.ingress?.[0];
    if (ingress?.ip) return { type: 'IPAddress', value: ingress.ip };
    if (ingress?.hostname) return { type: 'Hostname', value: ingress.hostname };
    return undefined;
  }
  const ip = service.spec.clusterIP;
  return ip && ip !== 'None' ? { type: 'IPAddress', value: ip } : undefined;
}

export function ingressGatewayStatus(i: IngressStatusInputs): IngressGatewayStatus {
  const gw = i.gateway;
  const g = gw.metadata.generation ?? 0;
  const cond = (type: string, ok: boolean, reason: string, message: string): ConditionInput => ({
    type,
    status: ok ? 'True' : 'False',
    observedGeneration: g,
    reason,
    message,
  });
  const verdicts = new Map(gw.spec.listeners.map((l) => [l.name, judgeListener(gw, l, i.referenceGrants)]));
  const clashes = conflicts(gw.spec.listeners);
  const usable = (l: Listener) => {
    const v = verdicts.get(l.name);
    return v !== undefined && v.accepted.ok && v.resolvedRefs.ok && !clashes.has(l.name);
  };
  const address = i.admission.admitted ? serviceAddress(i.service) : undefined;

  let accepted: ConditionInput;
  if (!i.admission.admitted) accepted = cond('Accepted', false, i.admission.reason, i.admission.message);
  else if (!gw.spec.listeners.some(usable))
    accepted = cond('Accepted', false, 'ListenersNotValid', 'no listener is valid: see status.listeners');
  else accepted = cond('Accepted', true, 'Accepted', 'resource accepted');

  const service = `service ${gw.metadata.name ?? ''}-${gw.spec.gatewayClassName}`;
  let programmed: ConditionInput;
  if (accepted.status !== 'True') {
    const pending = !i.admission.admitted && i.admission.reason === 'Pending';
    programmed = cond('Programmed', false, pending ? 'Pending' : 'Invalid', accepted.message);
  } else if (!address) {
    programmed = cond('Programmed', false, 'AddressNotAssigned', `waiting for ${service} to get an address`);
  } else {
    programmed = cond('Programmed', true, 'Programmed', `resource programmed, assigned to ${service}`);
  }

  const listeners = gw.spec.listeners.map((l) => {
    const v = verdicts.get(l.name)!;
    const clash = clashes.get(l.name);
    const ok = usable(l);
    const conditions: ConditionInput[] = [
      v.accepted.ok
        ? cond('Accepted', true, 'Accepted', `listener ${l.name} accepted`)
        : cond('Accepted', false, v.accepted.reason, v.accepted.message),
      clash
        ? cond('Conflicted', true, clash.reason, clash.message)
        : cond('Conflicted', false, 'NoConflicts', `listener ${l.name} has no conflicts`),
      v.resolvedRefs.ok
        ? cond('ResolvedRefs', true, 'ResolvedRefs', `listener ${l.name}: references resolved`)
        : cond('ResolvedRefs', false, v.resolvedRefs.reason, v.resolvedRefs.message),
      ok && programmed.status === 'True'
        ? cond('Programmed', true, 'Programmed', `listener ${l.name} programmed`)
        : cond(
            'Programmed',
            false,
            ok ? programmed.reason : 'Invalid',
            ok ? programmed.message : 'listener is not valid',
          ),
    ];
    return {
      name: l.name,
      attachedRoutes: ok ? i.attachedRoutes(l.name) : 0,
      supportedKinds: v.supportedKinds,
      conditions: mergeConditions(
        gw.status?.listeners?.find((s) => s.name === l.name)?.conditions,
        conditions,
        i.now,
      ),
    };
  });

  return {
    ...(address ? { addresses: [address] } : {}),
    conditions: mergeConditions(gw.status?.conditions, [accepted, programmed], i.now),
    listeners,
  };
}
