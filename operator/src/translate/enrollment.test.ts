import { describe, expect, it } from 'vitest';
import {
  isEnrolled,
  serviceWaypoint,
  workloadWaypoint,
  type WaypointFor,
  type WaypointLookup,
} from './enrollment.ts';

describe('isEnrolled', () => {
  const ambientNs = { 'istio.io/dataplane-mode': 'ambient' };
  it.each<[string, Record<string, string> | undefined, Record<string, string> | undefined, boolean, boolean]>(
    [
      ['namespace label enrolls its pods', undefined, ambientNs, false, true],
      ["Ambit's own namespace label too", undefined, { 'ambit.dev/dataplane-mode': 'ambient' }, false, true],
      ['a pod label none opts out', { 'istio.io/dataplane-mode': 'none' }, ambientNs, false, false],
      [
        'either label saying none opts out',
        { 'ambit.dev/dataplane-mode': 'none', 'istio.io/dataplane-mode': 'ambient' },
        ambientNs,
        false,
        false,
      ],
      [
        'a pod label ambient enrolls in an unlabelled namespace',
        { 'istio.io/dataplane-mode': 'ambient' },
        undefined,
        false,
        true,
      ],
      ['unlabelled pod in unlabelled namespace is out', undefined, undefined, false, false],
      [
        'hostNetwork pods are never captured',
        { 'istio.io/dataplane-mode': 'ambient' },
        ambientNs,
        true,
        false,
      ],
      ['another value is not ambient', undefined, { 'istio.io/dataplane-mode': 'sidecar' }, false, false],
    ],
  )('%s', (_n, podLabels, nsLabels, hostNetwork, expected) => {
    expect(isEnrolled({ labels: podLabels, hostNetwork }, nsLabels)).toBe(expected);
  });
});

function lookup(entries: Record<string, WaypointFor>): WaypointLookup {
  return { waypointFor: (ref) => entries[`${ref.namespace}/${ref.name}`] };
}

describe('waypoint binding', () => {
  const ns = (labels?: Record<string, string>) => ({ name: 'shop', labels });
  const waypoints = lookup({
    'shop/waypoint': 'service',
    'shop/wl': 'workload',
    'shop/both': 'all',
    'mesh/shared': 'all',
  });

  it('binds a Service through its namespace label to a service waypoint', () => {
    expect(serviceWaypoint(undefined, ns({ 'istio.io/use-waypoint': 'waypoint' }), waypoints)).toEqual({
      kind: 'bound',
      waypoint: { namespace: 'shop', name: 'waypoint' },
      via: 'namespace',
    });
  });

  it('does not bind workloads to a namespace waypoint that serves only services', () => {
    expect(workloadWaypoint(undefined, ns({ 'istio.io/use-waypoint': 'waypoint' }), waypoints)).toEqual({
      kind: 'none',
    });
  });

  it('lets the closer label win, and none opt out', () => {
    const nsLabels = ns({ 'istio.io/use-waypoint': 'waypoint' });
    expect(serviceWaypoint({ 'istio.io/use-waypoint': 'both' }, nsLabels, waypoints)).toMatchObject({
      kind: 'bound',
      waypoint: { name: 'both' },
      via: 'service',
    });
    expect(serviceWaypoint({ 'istio.io/use-waypoint': 'none' }, nsLabels, waypoints)).toEqual({
      kind: 'none',
    });
    expect(workloadWaypoint({ 'istio.io/use-waypoint': 'wl' }, nsLabels, waypoints)).toMatchObject({
      kind: 'bound',
      via: 'pod',
    });
  });

  it('follows use-waypoint-namespace to another namespace', () => {
    const labels = { 'istio.io/use-waypoint': 'shared', 'istio.io/use-waypoint-namespace': 'mesh' };
    expect(serviceWaypoint(labels, ns(), waypoints)).toMatchObject({
      kind: 'bound',
      waypoint: { namespace: 'mesh', name: 'shared' },
    });
  });

  it('reports a missing waypoint or one of the wrong kind, failing closed', () => {
    expect(serviceWaypoint({ 'istio.io/use-waypoint': 'ghost' }, ns(), waypoints)).toEqual({
      kind: 'unresolved',
      waypoint: { namespace: 'shop', name: 'ghost' },
      via: 'service',
      message: 'waypoint shop/ghost does not exist',
    });
    expect(workloadWaypoint({ 'istio.io/use-waypoint': 'waypoint' }, ns(), waypoints)).toMatchObject({
      kind: 'unresolved',
      message:
        'waypoint shop/waypoint serves service traffic (label istio.io/waypoint-for), not workload traffic',
    });
  });
});
