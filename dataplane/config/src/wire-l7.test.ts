import { describe, expect, it } from 'vitest';
import { applyPush, EMPTY_STATE } from './apply-push.ts';
import type { DestinationPolicy, RouteTable } from './l7-model.ts';
import {
  destinationPolicyFromProto,
  destinationPolicyToProto,
  routeTableFromProto,
  routeTableToProto,
} from './wire-l7.ts';

const source = {
  group: 'networking.istio.io',
  kind: 'VirtualService',
  namespace: 'bookinfo',
  name: 'reviews',
};
const table: RouteTable = {
  id: 'bookinfo/reviews',
  service: 'bookinfo/reviews',
  protocol: 'HTTP',
  sources: [source],
  rules: [
    {
      name: 'VirtualService/bookinfo/reviews#0',
      matches: [
        { headers: [{ name: 'end-user', value: { exact: 'jason' }, invert: false }], queryParams: [] },
      ],
      backends: [{ service: 'bookinfo/reviews', port: 9080, subset: 'v2', weight: 100 }],
      mirrors: [],
    },
    {
      name: 'VirtualService/bookinfo/reviews#1',
      matches: [
        {
          path: { pathPrefix: '/api' },
          method: 'GET',
          headers: [{ name: 'x-debug', invert: true }],
          queryParams: [{ name: 'v', value: { regex: '[0-9]+' } }],
          port: 9080,
        },
      ],
      backends: [
        { service: 'bookinfo/reviews', port: 9080, subset: 'v1', weight: 90 },
        {
          service: 'bookinfo/reviews',
          port: 9080,
          subset: 'v2',
          weight: 10,
          requestHeaders: { set: [{ name: 'x-canary', value: '1' }], add: [], remove: [] },
        },
      ],
      rewrite: { path: { prefix: '/v2/api' } },
      requestHeaders: { set: [], add: [{ name: 'x-route', value: 'split' }], remove: ['x-internal'] },
      timeoutMs: 100,
      retry: { attempts: 3, perTryTimeoutMs: 50, retryOn: ['5xx', 'reset'], retriableStatusCodes: [409] },
      fault: { abort: { status: 503, percent: 50 }, delay: { ms: 10, percent: 5.5 } },
      mirrors: [{ backend: { service: 'bookinfo/reviews-shadow', port: 9080, weight: 1 }, percent: 10 }],
    },
    {
      name: 'VirtualService/bookinfo/reviews#2',
      matches: [{ path: { exact: '/old' }, headers: [], queryParams: [] }],
      backends: [],
      redirect: { host: 'example.test', path: { full: '/new' }, statusCode: 301 },
      mirrors: [],
    },
  ],
};
const policy: DestinationPolicy = {
  id: 'bookinfo/reviews',
  service: 'bookinfo/reviews',
  trafficPolicy: {
    loadBalancer: 'LEAST_REQUEST',
    connectionPool: { maxConnections: 10, maxPendingRequests: 1 },
    outlierDetection: {
      consecutive5xxErrors: 3,
      intervalMs: 1000,
      baseEjectionTimeMs: 30_000,
      maxEjectionPercent: 50,
    },
  },
  subsets: [
    { name: 'v1', workloads: ['uid-1'] },
    { name: 'v2', workloads: ['uid-2'], trafficPolicy: { loadBalancer: 'RANDOM' } },
  ],
  source: { ...source, kind: 'DestinationRule' },
};

describe('route tables and destination policies on the wire', () => {
  it('round-trip unchanged', () => {
    expect(routeTableFromProto(routeTableToProto(table))).toEqual(table);
    expect(destinationPolicyFromProto(destinationPolicyToProto(policy))).toEqual(policy);
  });

  it('carry an ingress table (gateway port, hosts per match) and check its id and hostnames', () => {
    const ingress: RouteTable = {
      ...table,
      id: 'gateway:default/gw:80',
      service: '',
      gateway: { gateway: 'default/gw', port: 80 },
      rules: [{ ...table.rules[0]!, matches: [{ headers: [], queryParams: [], hosts: ['*.shop.example'] }] }],
    };
    expect(routeTableFromProto(routeTableToProto(ingress))).toEqual(ingress);
    const wrongId = routeTableToProto({ ...ingress, id: 'default/gw' });
    expect(() => routeTableFromProto(wrongId)).toThrow(/id must be "gateway:default\/gw:80"/);
    const badHost = routeTableToProto(ingress);
    badHost.rules[0]!.matches[0]!.hosts = ['shop..example'];
    expect(() => routeTableFromProto(badHost)).toThrow(
      /rules\[0\]\.matches\[0\]\.hosts\[0\]: "shop..example" is not a hostname/,
    );
    // Upper case is normalised, as hostnames compare without case.
    const upper = routeTableToProto(ingress);
    upper.rules[0]!.matches[0]!.hosts = ['WWW.Shop.Example'];
    expect(routeTableFromProto(upper).rules[0]?.matches[0]?.hosts).toEqual(['www.shop.example']);
  });

  it('reject a record with a regex that does not compile, naming the field', () => {
    const bad = routeTableToProto({
      ...table,
      rules: [{ ...table.rules[0]!, matches: [{ path: { regex: '([' }, headers: [], queryParams: [] }] }],
    });
    expect(() => routeTableFromProto(bad)).toThrow(/rules\[0\]\.matches\[0\]\.path: invalid regex/);
  });

  it('reject a redirect status that is not one, and percentages out of range', () => {
    const redirect = routeTableToProto(table);
    redirect.rules[2]!.redirect!.statusCode = 200;
    expect(() => routeTableFromProto(redirect)).toThrow(/not a redirect status/);
    const fault = routeTableToProto(table);
    fault.rules[1]!.fault!.abort!.percent = 150;
    expect(() => routeTableFromProto(fault)).toThrow(/within 0–100/);
  });

  it('arrive in a push next to the other records, and a bad one is rejected alone', () => {
    const good = routeTableToProto(table);
    const bad = routeTableToProto({ ...table, id: 'bookinfo/ratings', service: 'bookinfo/ratings' });
    bad.rules[0]!.backends[0]!.port = 0;
    const { state, rejected } = applyPush(EMPTY_STATE, {
      version: 'v1',
      full: true,
      workloads: [],
      services: [],
      authorizations: [],
      routeTables: [good, bad],
      destinationPolicies: [destinationPolicyToProto(policy)],
      removedWorkloads: [],
      removedServices: [],
      removedAuthorizations: [],
      removedRouteTables: [],
      removedDestinationPolicies: [],
    });
    expect([...state.routeTables.keys()]).toEqual(['bookinfo/reviews']);
    expect(state.destinationPolicies.get('bookinfo/reviews')?.subsets.map((s) => s.name)).toEqual([
      'v1',
      'v2',
    ]);
    expect(rejected).toEqual([
      {
        kind: 'RouteTable',
        id: 'bookinfo/ratings',
        reason: expect.stringContaining('backends[0].port') as string,
      },
    ]);
  });
});
