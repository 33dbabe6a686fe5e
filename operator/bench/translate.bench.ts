// Benchmark (issue 4): translation of a synthetic large cluster, the latency from one object change to the delta
// for one ztunnel, and the config server's fan-out of one change to every node's ztunnel (1,000 subscribers on
// in-memory streams: the server's own work, without gRPC serialization). Prints a table; not a test.
// Usage: node --expose-gc operator/bench/translate.bench.ts [pods] [services] [policies]
import type { AuthorizationPolicy } from '@ambit/codegen/crds';
import type { V1EndpointSlice, V1Namespace, V1Pod, V1Service } from '@kubernetes/client-node';
import { performance } from 'node:perf_hooks';
import * as pb from '@ambit/codegen/proto';
import { ChangeJournal } from '../src/distribute/change-journal.ts';
import { ConfigServer } from '../src/distribute/config-server.ts';
import { diffConfig } from '../src/distribute/delta.ts';
import { ztunnelScope } from '../src/distribute/scope.ts';
import { MemoryStream } from '../src/distribute/testing/memory-stream.ts';
import { translateCluster, type ClusterSnapshot } from '../src/translate/cluster-config.ts';

const [pods = 200_000, services = 14_000, policies = 2_000] = process.argv.slice(2).map(Number);
const NAMESPACES = 500;
const NODES = 1_000;

function ip(n: number): string {
  return `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`;
}

function synthetic(): ClusterSnapshot {
  const namespaces: V1Namespace[] = Array.from({ length: NAMESPACES }, (_, i) => ({
    metadata: { name: `ns-${i}`, labels: { 'istio.io/dataplane-mode': 'ambient' } },
  }));
  const podList: V1Pod[] = Array.from({ length: pods }, (_, i) => ({
    metadata: {
      name: `pod-${i}`,
      namespace: `ns-${i % NAMESPACES}`,
      uid: `uid-${i}`,
      labels: { app: `app-${i % services}` },
    },
    spec: { containers: [], nodeName: `node-${i % NODES}`, serviceAccountName: `sa-${i % services}` },
    status: {
      phase: 'Running',
      podIP: ip(i),
      podIPs: [{ ip: ip(i) }],
      conditions: [{ type: 'Ready', status: 'True' }],
    },
  }));
  const serviceList: V1Service[] = Array.from({ length: services }, (_, i) => ({
    metadata: { name: `svc-${i}`, namespace: `ns-${i % NAMESPACES}` },
    spec: {
      clusterIP: ip(1_000_000 + i),
      clusterIPs: [ip(1_000_000 + i)],
      ports: [{ name: 'http', port: 80 }],
    },
  }));
  const slices: V1EndpointSlice[] = serviceList.map((s, i) => ({
    metadata: {
      name: `svc-${i}-x`,
      namespace: s.metadata!.namespace,
      labels: { 'kubernetes.io/service-name': `svc-${i}` },
    },
    addressType: 'IPv4',
    ports: [{ name: 'http', port: 8080 }],
    endpoints: Array.from({ length: Math.floor(pods / services) }, (_, k) => {
      const p = i + k * services;
      return {
        addresses: [ip(p)],
        conditions: { ready: true },
        targetRef: { kind: 'Pod', uid: `uid-${p}`, name: `pod-${p}` },
      };
    }),
  }));
  const aps: AuthorizationPolicy[] = Array.from({ length: policies }, (_, i) => ({
    apiVersion: 'security.istio.io/v1',
    kind: 'AuthorizationPolicy',
    metadata: { name: `ap-${i}`, namespace: `ns-${i % NAMESPACES}` },
    spec: {
      selector: { matchLabels: { app: `app-${i % services}` } },
      rules: [
        {
          from: [{ source: { principals: [`cluster.local/ns/ns-${(i + 1) % NAMESPACES}/sa/sa-${i}`] } }],
          to: [{ operation: { ports: ['8080'] } }],
        },
      ],
    },
  }));
  return {
    mesh: { trustDomain: 'cluster.local', rootNamespace: 'istio-system', clusterDomain: 'cluster.local' },
    namespaces,
    pods: podList,
    services: serviceList,
    endpointSlices: slices,
    gateways: [],
    authorizationPolicies: aps,
    peerAuthentications: [],
  };
}

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
}

const snapshot = synthetic();
global.gc?.();
const heapBefore = process.memoryUsage().heapUsed;
let t = performance.now();
let config = translateCluster(snapshot);
const firstMs = performance.now() - t;
global.gc?.();
const heapAfter = process.memoryUsage().heapUsed;

// One object change (a pod's readiness flips): the translation, then the delta for the ztunnel of its node as
// the config server computes it (journal of touched ids, indexes derived from the previous version's).
const latencies: number[] = [];
const translations: number[] = [];
const journal = new ChangeJournal();
for (let i = 0; i < 10; i++) {
  const pods = [...snapshot.pods];
  const target = pods[i * 7]!;
  pods[i * 7] = {
    ...target,
    status: { ...target.status, conditions: [{ type: 'Ready', status: i % 2 ? 'True' : 'False' }] },
  };
  t = performance.now();
  const next = translateCluster({ ...snapshot, pods }, config);
  translations.push(performance.now() - t);
  const node = target.spec!.nodeName!;
  journal.record(i + 1, config, next);
  const delta = diffConfig(ztunnelScope(config, node), ztunnelScope(next, node), journal.since(i));
  latencies.push(performance.now() - t);
  if (delta.workloads.changed.length !== 1)
    throw new Error(`expected one changed workload, got ${delta.workloads.changed.length}`);
  config = next;
}

// Fan-out: every node's ztunnel subscribes to a server holding the config (a full snapshot each), then one pod
// change → a delta for each of them.
const server = new ConfigServer({
  admit: (token) => Promise.resolve({ kind: 'ztunnel', name: token ?? '' }),
  scope: (sub, c) => ztunnelScope(c, sub.name),
});
server.update(config);
/** Lets admissions and the ACKs queued for the next turn arrive, so every subscriber is idle again. */
const settle = async () => {
  for (let k = 0; k < 3; k++) await new Promise((r) => setImmediate(r));
};
let written = 0;
t = performance.now();
for (let n = 0; n < NODES; n++) {
  const stream = new MemoryStream(`node-${n}`);
  stream.onWrite = (push) => {
    written += 1;
    // The proxy answers on a later turn, as over a socket.
    setImmediate(() => stream.send({ request: { $case: 'ack', value: { version: push.version } } }));
  };
  server.subscribe(stream.asServerStream());
  stream.send({
    request: {
      $case: 'hello',
      value: {
        kind: pb.ProxyKind.PROXY_KIND_ZTUNNEL,
        node: `node-${n}`,
        waypoint: '',
        gateway: '',
        protocolVersion: 1,
      },
    },
  });
}
await settle();
const firstFanoutMs = performance.now() - t;
if (written !== NODES) throw new Error(`${written} of ${NODES} snapshots written`);
const fanout: number[] = [];
const fullCompare: number[] = [];
/** ztunnels timed for the full comparison. */
const SAMPLE = 20;
for (let i = 0; i < 10; i++) {
  const pods = [...snapshot.pods];
  const target = pods[i * 13 + 1]!;
  pods[i * 13 + 1] = {
    ...target,
    status: { ...target.status, conditions: [{ type: 'Ready', status: 'False' }] },
  };
  const next = translateCluster({ ...snapshot, pods }, config);
  const before = written;
  t = performance.now();
  server.update(next);
  fanout.push(performance.now() - t);
  if (written - before !== NODES)
    throw new Error(`expected ${NODES} deltas, ${written - before} were written`);
  if (i < 3) {
    // The same deltas by comparing every record of each ztunnel's scope (the cost before the change journal),
    // timed on a sample of ztunnels and scaled to all of them.
    t = performance.now();
    for (let n = 0; n < SAMPLE; n++)
      diffConfig(ztunnelScope(config, `node-${n}`), ztunnelScope(next, `node-${n}`));
    fullCompare.push(((performance.now() - t) * NODES) / SAMPLE);
  }
  config = next;
  await settle();
}

console.log(
  `translation benchmark: ${pods} pods, ${services} services, ${policies} policies (records of unchanged objects reused)`,
);
console.log(`| measure | value |\n|---|---|`);
console.log(`| first full translation | ${firstMs.toFixed(0)} ms |`);
console.log(`| heap held by the config | ${((heapAfter - heapBefore) / 1048576).toFixed(0)} MiB |`);
console.log(`| one change -> translation, p50 | ${quantile(translations, 0.5).toFixed(0)} ms |`);
console.log(`| one change -> delta for its ztunnel, p50 | ${quantile(latencies, 0.5).toFixed(0)} ms |`);
console.log(
  `| one change -> delta for its ztunnel, p99 (of ${latencies.length}) | ${quantile(latencies, 0.99).toFixed(0)} ms |`,
);
console.log(`| first snapshot to ${NODES} ztunnels (config server) | ${firstFanoutMs.toFixed(0)} ms |`);
console.log(
  `| one change -> deltas to all ${NODES} ztunnels (config server), p50 / max of ${fanout.length} | ${quantile(fanout, 0.5).toFixed(0)} / ${Math.max(...fanout).toFixed(0)} ms |`,
);
console.log(
  `| same deltas by comparing every record per ztunnel (${SAMPLE} timed, scaled to ${NODES}), p50 of ${fullCompare.length} | ${quantile(fullCompare, 0.5).toFixed(0)} ms |`,
);
