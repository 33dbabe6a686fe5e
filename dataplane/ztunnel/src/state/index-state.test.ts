// The ztunnel's lookups over its config: here, which peers are waypoints (the only ones trusted to forward a caller).
import { describe, expect, it } from 'vitest';
import { service, state, workload } from '../testing/records.ts';
import { buildIndex, waypointIdentity } from './index-state.ts';

const WP = { namespace: 'bookinfo', name: 'reviews-waypoint' };
const reviews = workload('reviews', { namespace: 'bookinfo', addresses: ['10.244.1.7'] });

describe('isWaypointIdentity', () => {
  it('names a waypoint by its Gateway: namespace and name are its service account’s', () => {
    expect(waypointIdentity('cluster.local', WP)).toBe(
      'spiffe://cluster.local/ns/bookinfo/sa/reviews-waypoint',
    );
  });

  it('knows a waypoint a Workload names, in that workload’s trust domain', () => {
    const idx = buildIndex(state({ workloads: [{ ...reviews, waypoint: WP, trustDomain: 'corp.example' }] }));
    expect(idx.isWaypointIdentity('spiffe://corp.example/ns/bookinfo/sa/reviews-waypoint')).toBe(true);
    expect(idx.isWaypointIdentity('spiffe://cluster.local/ns/bookinfo/sa/reviews-waypoint')).toBe(false);
  });

  it('knows a waypoint a Service names, in its endpoints’ trust domain', () => {
    const svc = service('reviews', {
      namespace: 'bookinfo',
      waypoint: WP,
      endpoints: [{ workloadUid: reviews.uid, ports: { 9080: 9080 }, ready: true }],
    });
    const idx = buildIndex(state({ workloads: [reviews], services: [svc] }));
    expect(idx.isWaypointIdentity('spiffe://cluster.local/ns/bookinfo/sa/reviews-waypoint')).toBe(true);
  });

  it('knows no other identity: not the workloads, nor a waypoint nothing names any more', () => {
    const named = buildIndex(state({ workloads: [{ ...reviews, waypoint: WP }] }));
    expect(named.isWaypointIdentity('spiffe://cluster.local/ns/bookinfo/sa/reviews')).toBe(false);
    expect(named.isWaypointIdentity('spiffe://cluster.local/ns/other/sa/reviews-waypoint')).toBe(false);
    expect(named.isWaypointIdentity('cluster.local/ns/bookinfo/sa/reviews-waypoint')).toBe(false);
    // Recomputed with every config: once no record names it, the waypoint is an ordinary peer again.
    expect(
      buildIndex(state({ workloads: [reviews] })).isWaypointIdentity(waypointIdentity('cluster.local', WP)),
    ).toBe(false);
  });
});
