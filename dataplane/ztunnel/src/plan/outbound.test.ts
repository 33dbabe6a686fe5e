import { describe, expect, it } from 'vitest';
import { buildIndex } from '../state/index-state.ts';
import { service, state, workload } from '../testing/records.ts';
import { planOutbound, type PlanContext } from './outbound.ts';

const sleep = workload('sleep', { addresses: ['10.244.1.5'], node: 'node-a' });
const localWeb = workload('web-1', { addresses: ['10.244.1.6'], node: 'node-a' });
const remoteWeb = workload('web-2', { addresses: ['10.244.2.6'], node: 'node-b' });
const outside = workload('legacy', { addresses: ['10.244.2.9'], node: 'node-b', protocol: 'NONE' });
const wp = workload('waypoint', { addresses: ['10.244.2.20'], node: 'node-b', serviceAccount: 'waypoint' });
const wpService = service('waypoint', {
  vips: ['10.96.0.20'],
  ports: [{ name: 'mesh', port: 15008, protocol: 'TCP' }],
  endpoints: [{ workloadUid: wp.uid, ports: { 15008: 15008 }, ready: true }],
});
const web = service('web', {
  vips: ['10.96.0.10'],
  endpoints: [
    { workloadUid: localWeb.uid, ports: { 80: 8080 }, ready: true },
    { workloadUid: remoteWeb.uid, ports: { 80: 8080 }, ready: true },
  ],
});

function ctx(records: Parameters<typeof state>[0], pick = 0): PlanContext {
  return { index: buildIndex(state(records)), node: 'node-a', pick: (n) => Math.min(pick, n - 1) };
}
const all = { workloads: [sleep, localWeb, remoteWeb, outside, wp], services: [web, wpService] };

describe('planOutbound', () => {
  it('maps a Service VIP to an endpoint and its pod port; a local endpoint is delivered locally', () => {
    expect(planOutbound(ctx(all, 0), sleep, { ip: '10.96.0.10', port: 80 })).toMatchObject({
      kind: 'local',
      destination: { uid: localWeb.uid },
      target: { ip: '10.244.1.6', port: 8080 },
    });
  });

  it('sends HBONE to <pod IP>:15008 for a remote endpoint, expecting its identity', () => {
    expect(planOutbound(ctx(all, 1), sleep, { ip: '10.96.0.10', port: 80 })).toEqual({
      kind: 'hbone',
      proxy: { ip: '10.244.2.6', port: 15008 },
      authority: { ip: '10.244.2.6', port: 8080 },
      identities: ['spiffe://cluster.local/ns/default/sa/web-2'],
      destination: remoteWeb,
      service: web,
      viaWaypoint: false,
    });
  });

  it('goes through the Service waypoint with the VIP as authority', () => {
    const fronted = { ...web, waypoint: { namespace: 'default', name: 'waypoint' } };
    const plan = planOutbound(ctx({ ...all, services: [fronted, wpService] }), sleep, {
      ip: '10.96.0.10',
      port: 80,
    });
    expect(plan).toMatchObject({
      kind: 'hbone',
      proxy: { ip: '10.244.2.20', port: 15008 },
      authority: { ip: '10.96.0.10', port: 80 },
      identities: ['spiffe://cluster.local/ns/default/sa/waypoint'],
      viaWaypoint: true,
    });
  });

  it('fails closed when the waypoint has no ready endpoint', () => {
    const fronted = { ...web, waypoint: { namespace: 'default', name: 'gone' } };
    expect(
      planOutbound(ctx({ ...all, services: [fronted] }), sleep, { ip: '10.96.0.10', port: 80 }).kind,
    ).toBe('refuse');
  });

  it('does not loop a waypoint back into itself', () => {
    const fronted = { ...web, waypoint: { namespace: 'default', name: 'waypoint' } };
    const plan = planOutbound(ctx({ ...all, services: [fronted, wpService] }, 1), wp, {
      ip: '10.96.0.10',
      port: 80,
    });
    expect(plan).toMatchObject({ kind: 'hbone', proxy: { ip: '10.244.2.6' }, viaWaypoint: false });
  });

  it('honours a workload waypoint for traffic addressed to the pod', () => {
    const fronted = { ...remoteWeb, waypoint: { namespace: 'default', name: 'waypoint' } };
    const plan = planOutbound(ctx({ ...all, workloads: [sleep, fronted, wp] }), sleep, {
      ip: '10.244.2.6',
      port: 8080,
    });
    expect(plan).toMatchObject({
      kind: 'hbone',
      viaWaypoint: true,
      authority: { ip: '10.244.2.6', port: 8080 },
    });
  });

  it('passes through to workloads outside the mesh and unknown addresses', () => {
    expect(planOutbound(ctx(all), sleep, { ip: '10.244.2.9', port: 5432 })).toEqual({
      kind: 'passthrough',
      target: { ip: '10.244.2.9', port: 5432 },
    });
    expect(planOutbound(ctx(all), sleep, { ip: '192.0.2.1', port: 443 }).kind).toBe('passthrough');
  });

  it('refuses a Service port with no ready endpoint', () => {
    const down = { ...web, endpoints: web.endpoints.map((e) => ({ ...e, ready: false })) };
    expect(planOutbound(ctx({ ...all, services: [down] }), sleep, { ip: '10.96.0.10', port: 80 }).kind).toBe(
      'refuse',
    );
  });
});
