// The status of a waypoint Gateway (pure): Accepted and Programmed with reasons, the Service's addresses, and one
// status per listener, as Istio reports them so `kubectl wait --for=condition=programmed` works.
import type { Gateway } from '@ambit/codegen/crds';
import type { V1Service } from '@kubernetes/client-node';
import { mergeConditions, type Condition, type ConditionInput } from './conditions.ts';
import type { Admission } from './waypoint-admission.ts';

/** The Gateway status fields we write (the generated GatewayStatus types `addresses` too loosely to build). */
export interface WaypointGatewayStatus {
  addresses?: { type: 'IPAddress' | 'Hostname'; value: string }[];
  conditions: Condition[];
  listeners: { name: string; attachedRoutes: number; supportedKinds: never[]; conditions: Condition[] }[];
}

export function waypointGatewayStatus(
  gw: Gateway,
  admission: Admission,
  service: V1Service | undefined,
  clusterDomain: string,
  now: Date,
): WaypointGatewayStatus {
  const g = gw.metadata.generation ?? 0;
  const ip = service?.spec?.clusterIP;
  const hasIp = admission.admitted && ip !== undefined && ip !== '' && ip !== 'None';
  const host = `${gw.metadata.name ?? ''}.${gw.metadata.namespace ?? ''}.svc.${clusterDomain}`;

  const accepted: ConditionInput = admission.admitted
    ? {
        type: 'Accepted',
        status: 'True',
        observedGeneration: g,
        reason: 'Accepted',
        message: 'resource accepted',
      }
    : {
        type: 'Accepted',
        status: 'False',
        observedGeneration: g,
        reason: admission.reason,
        message: admission.message,
      };
  const programmed: ConditionInput = !admission.admitted
    ? {
        type: 'Programmed',
        status: 'False',
        observedGeneration: g,
        reason: admission.reason === 'Pending' ? 'Pending' : 'Invalid',
        message: admission.message,
      }
    : hasIp
      ? {
          type: 'Programmed',
          status: 'True',
          observedGeneration: g,
          reason: 'Programmed',
          message: `resource programmed, assigned to service ${host}:15008`,
        }
      : {
          type: 'Programmed',
          status: 'False',
          observedGeneration: g,
          reason: 'AddressNotAssigned',
          message: `waiting for service ${host} to get a cluster IP`,
        };

  const listenerConditions = (l: { name: string }): ConditionInput[] => [
    { ...accepted, type: 'Accepted' },
    { ...programmed, type: 'Programmed' },
    {
      type: 'ResolvedRefs',
      status: 'True',
      observedGeneration: g,
      reason: 'ResolvedRefs',
      message: `listener ${l.name}: no references to resolve`,
    },
  ];

  return {
    ...(hasIp
      ? {
          addresses: [
            { type: 'IPAddress', value: ip },
            { type: 'Hostname', value: host },
          ],
        }
      : {}),
    conditions: mergeConditions(gw.status?.conditions, [accepted, programmed], now),
    listeners: gw.spec.listeners.map((l) => ({
      name: l.name,
      attachedRoutes: 0,
      supportedKinds: [],
      conditions: mergeConditions(
        gw.status?.listeners?.find((s) => s.name === l.name)?.conditions,
        listenerConditions(l),
        now,
      ),
    })),
  };
}
