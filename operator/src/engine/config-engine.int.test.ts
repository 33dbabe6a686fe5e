// The control plane end to end on a real apiserver: informers → translation → gRPC pushes to a subscribed
// ztunnel, with deltas only for what changed, removals, and a NACK that leaves the previous version in force.
import * as pb from '@ambit/codegen/proto';
import { ConfigSubscription } from '@ambit/config';
import { Server, ServerCredentials, credentials } from '@grpc/grpc-js';
import { CoreV1Api, CustomObjectsApi, KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { ConfigServer, type NackReport } from '../distribute/config-server.ts';
import { ztunnelScope } from '../distribute/scope.ts';
import { clusterCaches, type ClusterCaches } from './caches.ts';
import { ConfigEngine } from './config-engine.ts';
import { MeshConfigStatusWriter } from './mesh-config-status.ts';
import { ObjectStatusWriter } from './object-status.ts';

const kc = new KubeConfig();
kc.loadFromFile(inject('kubeconfigPath'));
const core = kc.makeApiClient(CoreV1Api);
const custom = kc.makeApiClient(CustomObjectsApi);
const NS = 'engine-int';
const NODE = 'engine-node-a';
const MESH = 'engine-int';
let writer: MeshConfigStatusWriter;
const statusWriter = new ObjectStatusWriter(kc);
let port: number;

let caches: ClusterCaches;
let engine: ConfigEngine;
let server: Server;
let client: pb.ConfigDiscoveryServiceClient;
let sub: ConfigSubscription;
const pushes: pb.SubscribeResponse[] = [];
const nacks: NackReport[] = [];

/** Plays the kubelet's part that matters here: the pod is running with an IP. */
async function runningPod(name: string, ip: string, labels: Record<string, string> = {}): Promise<V1Pod> {
  const p = await core.createNamespacedPod({
    namespace: NS,
    body: {
      metadata: { name, labels },
      spec: { nodeName: NODE, containers: [{ name: 'c', image: 'example.invalid/x' }] },
    },
  });
  await core.replaceNamespacedPodStatus({
    name,
    namespace: NS,
    body: {
      ...p,
      status: {
        phase: 'Running',
        podIP: ip,
        podIPs: [{ ip }],
        conditions: [{ type: 'Ready', status: 'True' }],
      },
    },
  });
  return p;
}

function uidOf(p: V1Pod): string {
  return p.metadata!.uid!;
}

describe('config engine on a real apiserver', { timeout: 60_000 }, () => {
  beforeAll(async () => {
    await core.createNamespace({
      body: { metadata: { name: NS, labels: { 'istio.io/dataplane-mode': 'ambient' } } },
    });
    const cs = new ConfigServer({
      admit: () => Promise.resolve({ kind: 'ztunnel', name: NODE }),
      scope: (s, c) => ztunnelScope(c, s.name),
      onPush: (_p, push) => pushes.push(push),
      onNack: (r) => {
        nacks.push(r);
        void writer.write({ version: cs.version, rejections: nacks, warnings: engine.last?.warnings ?? [] });
      },
    });
    engine = new ConfigEngine({
      caches: (caches = clusterCaches(
        kc,
        () => engine.changed(),
        () => undefined,
      )),
      mesh: () => ({
        trustDomain: 'cluster.local',
        rootNamespace: 'istio-system',
        clusterDomain: 'cluster.local',
      }),
      onConfig: (c) => {
        cs.update(c);
        void statusWriter.write(c.statuses);
      },
    });
    await caches.start();
    server = new Server();
    server.addService(pb.ConfigDiscoveryServiceService, { subscribe: cs.subscribe });
    writer = new MeshConfigStatusWriter(kc, MESH);
    await custom.createClusterCustomObject({
      group: 'ambit.dev',
      version: 'v1alpha1',
      plural: 'meshes',
      body: { apiVersion: 'ambit.dev/v1alpha1', kind: 'Mesh', metadata: { name: MESH }, spec: {} },
    });
    port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (e, p) =>
        e ? reject(e) : resolve(p),
      ),
    );
    client = new pb.ConfigDiscoveryServiceClient(`127.0.0.1:${port}`, credentials.createInsecure());
    sub = new ConfigSubscription({
      client,
      hello: {
        kind: pb.ProxyKind.PROXY_KIND_ZTUNNEL,
        node: NODE,
        waypoint: '',
        gateway: '',
        protocolVersion: 1,
      },
      token: () => Promise.resolve('t'),
      onUpdate: () => undefined,
      initialBackoffMs: 50,
    });
    engine.recompute();
    sub.start();
  });

  afterAll(async () => {
    await custom
      .deleteClusterCustomObject({ group: 'ambit.dev', version: 'v1alpha1', plural: 'meshes', name: MESH })
      .catch(() => undefined);
    sub?.stop();
    client?.close();
    server?.forceShutdown();
    engine?.stop();
    await caches?.stop();
    await core.deleteNamespace({ name: NS }).catch(() => undefined);
  });

  it('pushes a pod created on the node, then a policy change as a delta, then a removal', async () => {
    const started = Date.now();
    const sleep = await runningPod('sleep', '10.244.77.5', { app: 'sleep' });
    await vi.waitFor(
      () => expect(sub.state.workloads.get(uidOf(sleep))?.addresses).toEqual(['10.244.77.5']),
      { timeout: 5000, interval: 20 },
    );
    console.log(`engine: pod visible to the subscribed ztunnel after ${Date.now() - started} ms`);

    const before = pushes.length;
    await custom.createNamespacedCustomObject({
      group: 'security.istio.io',
      version: 'v1',
      namespace: NS,
      plural: 'authorizationpolicies',
      body: {
        apiVersion: 'security.istio.io/v1',
        kind: 'AuthorizationPolicy',
        metadata: { name: 'sleep-only' },
        spec: {
          selector: { matchLabels: { app: 'sleep' } },
          rules: [{ from: [{ source: { namespaces: [NS] } }] }],
        },
      },
    });
    await vi.waitFor(() => expect(sub.state.authorizations.has(`${NS}/sleep-only`)).toBe(true), {
      timeout: 5000,
      interval: 20,
    });
    const deltas = pushes.slice(before);
    expect(deltas.every((p) => !p.full)).toBe(true);
    // Only the policy and the one workload it now selects changed.
    expect(deltas.flatMap((p) => p.authorizations.map((a) => a.id))).toEqual([`${NS}/sleep-only`]);
    expect(new Set(deltas.flatMap((p) => p.workloads.map((w) => w.uid)))).toEqual(new Set([uidOf(sleep)]));

    await core.deleteNamespacedPod({ name: 'sleep', namespace: NS, gracePeriodSeconds: 0 });
    await vi.waitFor(() => expect(sub.state.workloads.has(uidOf(sleep))).toBe(false), {
      timeout: 5000,
      interval: 20,
    });
    expect(pushes.at(-1)!.removedWorkloads).toContain(uidOf(sleep));
    expect(sub.state.authorizations.has(`${NS}/sleep-only`)).toBe(false);
  });

  it('keeps the previous version of a policy that became invalid', async () => {
    await runningPod('web', '10.244.77.6', { app: 'web' });
    const body = (ports: string[]) => ({
      apiVersion: 'security.istio.io/v1',
      kind: 'AuthorizationPolicy',
      metadata: { name: 'web-port' },
      spec: { selector: { matchLabels: { app: 'web' } }, rules: [{ to: [{ operation: { ports } }] }] },
    });
    await custom.createNamespacedCustomObject({
      group: 'security.istio.io',
      version: 'v1',
      namespace: NS,
      plural: 'authorizationpolicies',
      body: body(['8080']),
    });
    await vi.waitFor(
      () =>
        expect(
          sub.state.authorizations.get(`${NS}/web-port`)?.rules[0]?.allOf[0]?.matches[0]?.destinationPorts,
        ).toEqual([8080]),
      { timeout: 5000 },
    );
    // The CRD accepts any string as a port; translation finds it wrong in meaning.
    await custom.patchNamespacedCustomObject({
      group: 'security.istio.io',
      version: 'v1',
      namespace: NS,
      plural: 'authorizationpolicies',
      name: 'web-port',
      body: [{ op: 'replace', path: '/spec/rules/0/to/0/operation/ports', value: ['http'] }],
    });
    await vi.waitFor(
      () => {
        const status = engine.last?.statuses.find((s) => s.object.name === 'web-port');
        expect(status?.conditions[0]?.reason).toBe('Invalid');
      },
      { timeout: 5000 },
    );
    expect(
      sub.state.authorizations.get(`${NS}/web-port`)?.rules[0]?.allOf[0]?.matches[0]?.destinationPorts,
    ).toEqual([8080]);
    expect(engine.last?.warnings.map((w) => w.name)).toContain('web-port');
    expect(nacks).toEqual([]);
    expect(engine.last?.warnings.find((w) => w.name === 'web-port')?.message).toContain(
      'the previous version stays in force',
    );
    // The reason is on the object itself, naming the field.
    await vi.waitFor(
      async () => {
        const ap = (await custom.getNamespacedCustomObject({
          group: 'security.istio.io',
          version: 'v1',
          namespace: NS,
          plural: 'authorizationpolicies',
          name: 'web-port',
        })) as {
          status?: { conditions?: { type: string; status: string; reason: string; message: string }[] };
        };
        expect(ap.status?.conditions?.[0]).toMatchObject({
          type: 'Accepted',
          status: 'False',
          reason: 'Invalid',
        });
        expect(ap.status?.conditions?.[0]?.message).toContain('spec.rules[0].to[0].operation.ports[0]');
      },
      { timeout: 5000, interval: 100 },
    );
  });

  it("shows a proxy's NACK on the Mesh status", async () => {
    // A proxy that rejects whatever it is sent, as a newer or broken ztunnel might.
    const picky = new pb.ConfigDiscoveryServiceClient(`127.0.0.1:${port}`, credentials.createInsecure());
    const call = picky.subscribe();
    call.on('data', (push: pb.SubscribeResponse) => {
      const first = push.workloads[0];
      call.write({
        request: {
          $case: 'nack',
          value: {
            version: push.version,
            message: 'unsupported field',
            rejected: first ? [{ kind: 'Workload', id: first.uid, reason: 'unsupported field' }] : [],
          },
        },
      });
    });
    call.on('error', () => undefined);
    call.write({
      request: {
        $case: 'hello',
        value: {
          kind: pb.ProxyKind.PROXY_KIND_ZTUNNEL,
          node: NODE,
          waypoint: '',
          gateway: '',
          protocolVersion: 1,
        },
      },
    });
    await vi.waitFor(
      async () => {
        const mesh = (await custom.getClusterCustomObject({
          group: 'ambit.dev',
          version: 'v1alpha1',
          plural: 'meshes',
          name: MESH,
        })) as {
          status?: { config?: { rejections?: { proxy: string; message: string }[] } };
        };
        expect(mesh.status?.config?.rejections).toContainEqual(
          expect.objectContaining({ proxy: `ztunnel/${NODE}`, message: 'unsupported field' }),
        );
      },
      { timeout: 10_000, interval: 100 },
    );
    call.cancel();
    picky.close();
  });
});
