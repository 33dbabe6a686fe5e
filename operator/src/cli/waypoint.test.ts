import type { Gateway } from '@ambit/codegen/crds';
import { describe, expect, it } from 'vitest';
import {
  isWaypoint,
  parseDuration,
  parseWaypointArgs,
  programmedState,
  UsageError,
  waypointGateway,
  waypointTable,
} from './waypoint.ts';

type Conditions = NonNullable<NonNullable<Gateway['status']>['conditions']>;

function gateway(
  name: string,
  opts: { namespace?: string; generation?: number; conditions?: Conditions } = {},
) {
  const g = waypointGateway(opts.namespace ?? 'ns', name, 'service');
  return {
    ...g,
    metadata: { ...g.metadata, generation: opts.generation ?? 1 },
    ...(opts.conditions ? { status: { conditions: opts.conditions } } : {}),
  };
}

const condition = (type: string, status: 'True' | 'False' | 'Unknown', reason: string, message = '') => ({
  type,
  status,
  reason,
  message,
  lastTransitionTime: '2025-01-01T00:00:00Z',
});

describe('parseWaypointArgs', () => {
  it('applies a service waypoint named "waypoint" in the context namespace by default, without waiting', () => {
    expect(parseWaypointArgs(['apply'])).toEqual({
      verb: 'apply',
      namespace: undefined,
      kubeconfig: undefined,
      name: 'waypoint',
      for: 'service',
      enrollNamespace: false,
      waitMs: undefined,
    });
  });

  it('reads every apply flag', () => {
    expect(
      parseWaypointArgs([
        'apply',
        '-n',
        'shop',
        '--name',
        'wp',
        '--for',
        'all',
        '--enroll-namespace',
        '--wait',
        '--timeout',
        '1m30s',
        '--kubeconfig',
        '/k',
      ]),
    ).toEqual({
      verb: 'apply',
      namespace: 'shop',
      kubeconfig: '/k',
      name: 'wp',
      for: 'all',
      enrollNamespace: true,
      waitMs: 90_000,
    });
  });

  it('waits 60 s unless told otherwise', () => {
    expect(parseWaypointArgs(['apply', '--wait'])).toMatchObject({ waitMs: 60_000 });
  });

  it('lists one namespace or all', () => {
    expect(parseWaypointArgs(['list', '-n', 'shop'])).toMatchObject({
      namespace: 'shop',
      allNamespaces: false,
    });
    expect(parseWaypointArgs(['list', '-A'])).toMatchObject({ namespace: undefined, allNamespaces: true });
  });

  it('deletes names (once each) or --all', () => {
    expect(parseWaypointArgs(['delete', 'a', 'b', 'a', '-n', 'shop'])).toMatchObject({
      names: ['a', 'b'],
      all: false,
      namespace: 'shop',
    });
    expect(parseWaypointArgs(['delete', '--all'])).toMatchObject({ names: [], all: true });
  });

  it('answers help for no verb and for -h', () => {
    expect(parseWaypointArgs([])).toEqual({ verb: 'help' });
    expect(parseWaypointArgs(['--help'])).toEqual({ verb: 'help' });
    expect(parseWaypointArgs(['apply', '-h'])).toEqual({ verb: 'help' });
  });

  it.each([
    [['frobnicate'], 'unknown waypoint command "frobnicate"'],
    [['apply', '--for', 'pods'], '--for must be one of service, workload, all, none, got pods'],
    [['apply', 'extra'], 'takes no arguments'],
    [['apply', '--timeout', '10'], 'invalid duration "10"'],
    [['apply', '--name'], "'--name <value>' argument missing"],
    [['list', '--for', 'all'], "Unknown option '--for'"],
    [['list', '-n', 'a', '-A'], 'either -n or -A'],
    [['delete'], 'needs a NAME or --all'],
    [['delete', 'a', '--all'], 'names or --all, not both'],
  ])('refuses %j as a usage error', (argv, message) => {
    let thrown: unknown;
    try {
      parseWaypointArgs(argv);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(UsageError);
    expect((thrown as Error).message).toContain(message);
  });
});

describe('parseDuration', () => {
  it.each([
    ['60s', 60_000],
    ['2s', 2_000],
    ['500ms', 500],
    ['1.5s', 1_500],
    ['2m', 120_000],
    ['1h1m1s', 3_661_000],
  ])('%s is %d ms', (text, ms) => expect(parseDuration(text)).toBe(ms));

  it.each(['', 's', '10', '10x', '5s ', 'x5s', '-5s'])('refuses %j', (text) => {
    expect(() => parseDuration(text)).toThrow(UsageError);
  });
});

describe('waypointGateway', () => {
  it('is a Gateway of class ambit-waypoint with the HBONE listener and the waypoint-for label', () => {
    expect(waypointGateway('shop', 'wp', 'workload')).toEqual({
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'Gateway',
      metadata: { name: 'wp', namespace: 'shop', labels: { 'istio.io/waypoint-for': 'workload' } },
      spec: {
        gatewayClassName: 'ambit-waypoint',
        listeners: [{ name: 'mesh', port: 15008, protocol: 'HBONE' }],
      },
    });
  });
});

describe('isWaypoint', () => {
  it("accepts Ambit's and Istio's waypoint classes only", () => {
    const g = gateway('wp');
    expect(isWaypoint(g)).toBe(true);
    expect(isWaypoint({ ...g, spec: { ...g.spec, gatewayClassName: 'istio-waypoint' } })).toBe(true);
    expect(isWaypoint({ ...g, spec: { ...g.spec, gatewayClassName: 'ambit' } })).toBe(false);
  });
});

describe('programmedState', () => {
  it('is not ready, and says so, before the operator reports anything', () => {
    expect(programmedState(gateway('wp'))).toEqual({
      ready: false,
      programmed: 'Unknown',
      detail: 'no Accepted or Programmed condition yet (is the Ambit operator running?)',
    });
  });

  it('is ready on Programmed=True for the current generation', () => {
    const g = gateway('wp', {
      generation: 2,
      conditions: [
        { ...condition('Accepted', 'True', 'Accepted'), observedGeneration: 2 },
        { ...condition('Programmed', 'True', 'Programmed'), observedGeneration: 2 },
      ],
    });
    expect(programmedState(g)).toMatchObject({ ready: true, programmed: 'True' });
  });

  it('is not ready on Programmed=True for an older generation', () => {
    const g = gateway('wp', {
      generation: 3,
      conditions: [{ ...condition('Programmed', 'True', 'Programmed'), observedGeneration: 2 }],
    });
    expect(programmedState(g)).toEqual({
      ready: false,
      programmed: 'True',
      detail: 'Programmed=True (Programmed) [for an older generation]',
    });
  });

  it('puts the Accepted and Programmed reasons and messages in the detail, ignoring other conditions', () => {
    const g = gateway('wp', {
      conditions: [
        condition(
          'Accepted',
          'False',
          'NotAllowed',
          'namespace ns is not in the Mesh waypoints.allowedNamespaces',
        ),
        condition('ResolvedRefs', 'True', 'ResolvedRefs'),
        condition('Programmed', 'False', 'Invalid'),
      ],
    });
    expect(programmedState(g)).toEqual({
      ready: false,
      programmed: 'False',
      detail:
        'Accepted=False (NotAllowed: namespace ns is not in the Mesh waypoints.allowedNamespaces); Programmed=False (Invalid)',
    });
  });
});

describe('waypointTable', () => {
  const ready = gateway('waypoint', { conditions: [condition('Programmed', 'True', 'Programmed')] });
  const pending = { ...gateway('billing-wp', { namespace: 'billing' }) };

  it('has NAME FOR PROGRAMMED columns, aligned', () => {
    expect(waypointTable([ready, pending], false)).toBe(
      [
        'NAME         FOR       PROGRAMMED',
        'waypoint     service   True',
        'billing-wp   service   Unknown',
      ].join('\n'),
    );
  });

  it('adds NAMESPACE first for all namespaces, and shows the waypoint-for label', () => {
    const workload = {
      ...pending,
      metadata: { ...pending.metadata, labels: { 'istio.io/waypoint-for': 'workload' } },
    };
    expect(waypointTable([ready, workload], true)).toBe(
      [
        'NAMESPACE   NAME         FOR        PROGRAMMED',
        'ns          waypoint     service    True',
        'billing     billing-wp   workload   Unknown',
      ].join('\n'),
    );
  });

  it('says when there are none', () => {
    expect(waypointTable([], true)).toBe('No waypoints found.');
  });
});
