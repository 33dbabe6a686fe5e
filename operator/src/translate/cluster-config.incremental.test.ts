// The incremental translation (records of unchanged objects reused, the previous workload map patched, a pod
// cache shared across versions) must give exactly what a translation from scratch gives, whatever changed.
import type { AuthorizationPolicy } from '@ambit/codegen/crds';
import type { V1EndpointSlice, V1Namespace, V1Pod, V1Service } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { translateCluster, type ClusterConfig, type ClusterSnapshot } from './cluster-config.ts';

function rng(seed: number) {
  let s = seed >>> 0;
  return (max: number) => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s % max;
  };
}

const NAMESPACES = ['a', 'b', 'c'];

function pod(i: number, next: (n: number) => number): V1Pod {
  const ns = NAMESPACES[i % NAMESPACES.length]!;
  return {
    metadata: {
      name: `p${i}`,
      namespace: ns,
      uid: `uid-${i}`,
      labels: { app: `app${next(4)}`, ...(next(6) === 0 ? { 'istio.io/dataplane-mode': 'none' } : {}) },
    },
    spec: { containers: [], nodeName: `n${next(3)}`, serviceAccountName: `sa${next(3)}` },
    status: {
      phase: next(8) === 0 ? 'Pending' : 'Running',
      podIP: `10.244.0.${i}`,
      podIPs: [{ ip: `10.244.0.${i}` }],
      conditions: [{ type: 'Ready', status: next(4) === 0 ? 'False' : 'True' }],
    },
  };
}

function namespace(name: string, enrolled: boolean): V1Namespace {
  return { metadata: { name, labels: enrolled ? { 'istio.io/dataplane-mode': 'ambient' } : {} } };
}

function service(i: number): V1Service {
  return {
    metadata: { name: `s${i}`, namespace: NAMESPACES[i % NAMESPACES.length]! },
    spec: { clusterIP: `10.96.0.${i + 1}`, ports: [{ name: 'http', port: 80 }] },
  };
}

function slice(i: number, pods: readonly V1Pod[]): V1EndpointSlice {
  const ns = NAMESPACES[i % NAMESPACES.length]!;
  return {
    metadata: { name: `s${i}-x`, namespace: ns, labels: { 'kubernetes.io/service-name': `s${i}` } },
    addressType: 'IPv4',
    ports: [{ name: 'http', port: 8080 }],
    endpoints: pods
      .filter((p) => p.metadata?.namespace === ns)
      .slice(0, 3)
      .map((p) => ({
        addresses: [p.status?.podIP ?? ''],
        conditions: { ready: true },
        targetRef: { kind: 'Pod', uid: p.metadata?.uid, name: p.metadata?.name },
      })),
  };
}

function policy(i: number, next: (n: number) => number): AuthorizationPolicy {
  return {
    apiVersion: 'security.istio.io/v1',
    kind: 'AuthorizationPolicy',
    metadata: { name: `ap${i}`, namespace: NAMESPACES[next(3)]! },
    spec: {
      ...(next(2) === 0 ? { selector: { matchLabels: { app: `app${next(4)}` } } } : {}),
      rules: [{ from: [{ source: { principals: [`cluster.local/ns/a/sa/sa${next(3)}`] } }] }],
    },
  };
}

/** What a translation yields, as plain data (maps as sorted entries). */
function view(c: ClusterConfig) {
  const entries = <T>(m: ReadonlyMap<string, T>) => [...m.entries()].sort(([x], [y]) => (x < y ? -1 : 1));
  return {
    workloads: entries(c.workloads),
    services: entries(c.services),
    authorizations: entries(c.authorizations),
    statuses: c.statuses,
    warnings: c.warnings,
  };
}

describe('incremental translation', () => {
  it('equals a translation from scratch after each of 300 random changes', () => {
    const next = rng(11);
    let pods = Array.from({ length: 24 }, (_, i) => pod(i, next));
    let namespaces = NAMESPACES.map((n) => namespace(n, true));
    let services = Array.from({ length: 6 }, (_, i) => service(i));
    let policies = Array.from({ length: 4 }, (_, i) => policy(i, next));
    const snap = (): ClusterSnapshot => ({
      mesh: { trustDomain: 'cluster.local', rootNamespace: 'istio-system', clusterDomain: 'cluster.local' },
      namespaces,
      pods,
      services,
      endpointSlices: services.map((_, i) => slice(i, pods)),
      gateways: [],
      authorizationPolicies: policies,
      peerAuthentications: [],
    });
    let config = translateCluster(snap());
    let nextUid = 100;
    for (let step = 0; step < 300; step++) {
      const roll = next(20);
      if (roll < 8) {
        // A pod changes (a new object, as an informer hands out).
        const i = next(pods.length);
        pods = pods.map((p, k) => (k === i ? pod(Number(p.metadata!.uid!.slice(4)), next) : p));
      } else if (roll < 11) {
        pods = [...pods, pod(nextUid++ % 250, next)].filter(
          (p, k, all) => all.findIndex((q) => q.metadata?.uid === p.metadata?.uid) === k,
        );
      } else if (roll < 14 && pods.length > 1) {
        const i = next(pods.length);
        pods = pods.filter((_, k) => k !== i);
      } else if (roll < 16) {
        const n = next(NAMESPACES.length);
        namespaces = namespaces.map((x, k) => (k === n ? namespace(x.metadata!.name!, next(2) === 0) : x));
      } else if (roll < 18) {
        const i = next(policies.length + 1);
        policies =
          i === policies.length ? [...policies, policy(step + 10, next)] : policies.filter((_, k) => k !== i);
      } else {
        const i = next(services.length);
        services = services.map((s, k) => (k === i ? { ...s, metadata: { ...s.metadata } } : s));
      }
      const s = snap();
      config = translateCluster(s, config);
      expect(view(config), `step ${step}`).toEqual(view(translateCluster(s)));
    }
  });
});
