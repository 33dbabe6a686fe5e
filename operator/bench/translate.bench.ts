// Benchmark (issue 4): translation of a synthetic large cluster, and the latency from one object change to the
// delta for one ztunnel. Prints a table; not a test. Usage: node operator/bench/translate.bench.ts [pods] [services] [policies]
import type { AuthorizationPolicy } from '@ambit/codegen/crds';
import type { V1EndpointSlice, V1Namespace, V1Pod, V1Service } from '@kubernetes/client-node';
import { performance } from 'node:perf_hooks';
import { diffConfig } from '../src/distribute/delta.ts';
import { ztunnelScope } from '../src/distribute/scope.ts';
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

// One object change (a pod's readiness flips), recomputed and scoped for the ztunnel of its node.
const latencies: number[] = [];
for (let i = 0; i < 10; i++) {
  const pods = [...snapshot.pods];
  const target = pods[i * 7]!;
  pods[i * 7] = {
    ...target,
    status: { ...target.status, conditions: [{ type: 'Ready', status: i % 2 ? 'True' : 'False' }] },
  };
  t = performance.now();
  const next = translateCluster({ ...snapshot, pods }, config);
  const node = target.spec!.nodeName!;
  const delta = diffConfig(ztunnelScope(config, node), ztunnelScope(next, node));
  latencies.push(performance.now() - t);
  if (delta.workloads.changed.length !== 1)
    throw new Error(`expected one changed workload, got ${delta.workloads.changed.length}`);
  config = next;
}

console.log(
  `translation benchmark: ${pods} pods, ${services} services, ${policies} policies (records of unchanged objects reused)`,
);
console.log(`| measure | value |\n|---|---|`);
console.log(`| first full translation | ${firstMs.toFixed(0)} ms |`);
console.log(`| heap held by the config | ${((heapAfter - heapBefore) / 1048576).toFixed(0)} MiB |`);
console.log(`| one change -> delta for its ztunnel, p50 | ${quantile(latencies, 0.5).toFixed(0)} ms |`);
console.log(
  `| one change -> delta for its ztunnel, p99 (of ${latencies.length}) | ${quantile(latencies, 0.99).toFixed(0)} ms |`,
);
