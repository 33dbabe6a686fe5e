// Records survive the real protobuf encoding unchanged; a malformed record is rejected alone, naming itself.
import * as pb from '@ambit/codegen/proto';
import { describe, expect, it } from 'vitest';
import { EMPTY_MATCH, type Authorization, type Service, type Workload } from './model.ts';
import {
  RecordError,
  authorizationFromProto,
  authorizationToProto,
  serviceFromProto,
  serviceToProto,
  workloadFromProto,
  workloadToProto,
} from './wire.ts';

const source = { group: '', kind: 'Pod', namespace: 'default', name: 'sleep-1' };
const workload: Workload = {
  uid: 'uid-1',
  name: 'sleep-1',
  namespace: 'default',
  addresses: ['10.244.1.5'],
  node: 'node-a',
  serviceAccount: 'sleep',
  trustDomain: 'cluster.local',
  canonicalName: 'sleep',
  canonicalRevision: 'v1',
  workloadName: 'sleep',
  protocol: 'HBONE',
  waypoint: { namespace: 'default', name: 'waypoint' },
  mtls: { mode: 'STRICT', ports: { 8080: 'PERMISSIVE' } },
  authorizationPolicies: ['default/p'],
  ready: true,
  source,
};
const service: Service = {
  id: 'default/reviews',
  name: 'reviews',
  namespace: 'default',
  hostname: 'reviews.default.svc.cluster.local',
  vips: ['10.96.0.9'],
  ports: [
    { name: 'http', port: 9080, protocol: 'TCP', appProtocol: 'http' },
    { name: 'tcp', port: 9090, protocol: 'TCP' },
  ],
  endpoints: [{ workloadUid: 'uid-1', ports: { 9080: 8080 }, ready: true }],
  source: { ...source, kind: 'Service', name: 'reviews' },
};
const authorization: Authorization = {
  id: 'default/p',
  name: 'p',
  namespace: 'default',
  scope: 'WorkloadSelector',
  action: 'Deny',
  rules: [
    {
      allOf: [
        {
          matches: [
            {
              ...EMPTY_MATCH,
              principals: ['cluster.local/ns/a/sa/b'],
              sourceIps: ['10.0.0.0/8'],
              destinationPorts: [80],
            },
          ],
        },
      ],
    },
    { allOf: [] },
  ],
  source: { group: 'security.istio.io', kind: 'AuthorizationPolicy', namespace: 'default', name: 'p' },
};

function overTheWire<T>(codec: pb.MessageFns<T>, message: T): T {
  return codec.decode(codec.encode(message).finish());
}

describe('wire conversion', () => {
  it('round-trips every record kind through protobuf bytes', () => {
    expect(workloadFromProto(overTheWire(pb.Workload, workloadToProto(workload)))).toEqual(workload);
    const noWaypoint: Workload = { ...workload, protocol: 'NONE', mtls: { mode: 'PERMISSIVE', ports: {} } };
    delete (noWaypoint as { waypoint?: unknown }).waypoint;
    expect(workloadFromProto(overTheWire(pb.Workload, workloadToProto(noWaypoint)))).toEqual(noWaypoint);
    expect(serviceFromProto(overTheWire(pb.Service, serviceToProto(service)))).toEqual(service);
    const viaWaypoint = { ...service, ingressUseWaypoint: true };
    expect(serviceFromProto(overTheWire(pb.Service, serviceToProto(viaWaypoint)))).toEqual(viaWaypoint);
    expect(
      authorizationFromProto(overTheWire(pb.Authorization, authorizationToProto(authorization))),
    ).toEqual(authorization);
  });

  it.each<[string, () => unknown, string]>([
    [
      'a workload without id',
      () => workloadFromProto({ ...workloadToProto(workload), uid: '' }),
      'Workload "": empty id',
    ],
    [
      'a workload with a bad address',
      () => workloadFromProto({ ...workloadToProto(workload), addresses: ['10.0.0.300'] }),
      'addresses: not an IP address',
    ],
    [
      'an unknown protocol',
      () => workloadFromProto({ ...workloadToProto(workload), protocol: pb.TunnelProtocol.UNRECOGNIZED }),
      'protocol: unknown value',
    ],
    [
      'a service port 0',
      () =>
        serviceFromProto({
          ...serviceToProto(service),
          ports: [{ name: '', port: 0, protocol: 'TCP', appProtocol: '' }],
        }),
      'ports: not a port: 0',
    ],
    [
      'an unspecified action',
      () =>
        authorizationFromProto({
          ...authorizationToProto(authorization),
          action: pb.AuthorizationAction.AUTHORIZATION_ACTION_UNSPECIFIED,
        }),
      'action: unknown value',
    ],
    [
      'a malformed CIDR',
      () =>
        authorizationFromProto({
          ...authorizationToProto(authorization),
          rules: [
            {
              allOf: [{ matches: [{ ...(EMPTY_MATCH as unknown as pb.Match), sourceIps: ['10.0.0.0/40'] }] }],
            },
          ],
        }),
      'sourceIps: not a CIDR',
    ],
  ])('rejects %s, naming the record', (_n, decode, message) => {
    expect(decode).toThrow(RecordError);
    expect(decode).toThrow(message);
  });
});
