// A 2-node box on this host, as root, without any kubelet: real control plane on the underlay, a real kube-proxy
// per node netns, stand-in pods wired by hand; Services answer across nodes, from the host via the LoadBalancer
// pool and on NodePorts; stop() leaves the host exactly as it found it.
import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import {
  CoordinationV1Api,
  CoreV1Api,
  DiscoveryV1Api,
  KubeConfig,
  type V1Service,
} from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { snapshotHost, type HostSnapshot } from '../network/index.ts';
import { run } from '../network/run.ts';
import { echoFromHost, NODE_BIN } from '../network/testing/echo.ts';
import { startBox, type Box, type NodeHandle } from './box.ts';
import { reapLeftovers } from './reap.ts';
import { echoFrom, startEcho, type Echo } from './testing/echo.ts';
import { boxDifferences } from './testing/host-diff.ts';
import { alive, processesMentioning, rssMib } from './testing/processes.ts';
import { createStandInPod, podAddress, type StandInPod } from './testing/stand-in-pod.ts';

/** A fixed name, so that a run that died is reaped by the next one (beforeAll). */
const BOX = 'atest';
const ECHO_PORT = 18080;
const isRoot = process.getuid?.() === 0;

/** Host-wide knobs kube-proxy would touch if it were not told otherwise (e2e/box/kube-proxy-args.ts). */
const HOST_KNOBS = [
  '/proc/sys/net/netfilter/nf_conntrack_max',
  '/proc/sys/net/netfilter/nf_conntrack_tcp_timeout_established',
  '/proc/sys/net/netfilter/nf_conntrack_tcp_timeout_close_wait',
  '/sys/module/nf_conntrack/parameters/hashsize',
  '/proc/sys/net/ipv4/conf/all/route_localnet',
];

async function hostKnobs(): Promise<string[]> {
  return Promise.all(
    HOST_KNOBS.map(async (p) => `${p}=${(await readFile(p, 'utf8').catch(() => '<absent>')).trim()}`),
  );
}

/** A selector-less Service and its hand-made EndpointSlice pointing at `podIp:ECHO_PORT`. */
async function createEchoService(
  kc: KubeConfig,
  name: string,
  type: 'ClusterIP' | 'LoadBalancer',
  endpoint: { ip: string; node: string },
): Promise<V1Service> {
  const core = kc.makeApiClient(CoreV1Api);
  const discovery = kc.makeApiClient(DiscoveryV1Api);
  const svc = await core.createNamespacedService({
    namespace: 'default',
    body: {
      metadata: { name },
      spec: { type, ports: [{ name: 'echo', port: 80, targetPort: ECHO_PORT, protocol: 'TCP' }] },
    },
  });
  await discovery.createNamespacedEndpointSlice({
    namespace: 'default',
    body: {
      metadata: {
        name: `${name}-manual`,
        labels: {
          'kubernetes.io/service-name': name,
          'endpointslice.kubernetes.io/managed-by': 'ambit-box-test',
        },
      },
      addressType: 'IPv4',
      endpoints: [{ addresses: [endpoint.ip], conditions: { ready: true }, nodeName: endpoint.node }],
      ports: [{ name: 'echo', port: ECHO_PORT, protocol: 'TCP' }],
    },
  });
  return svc;
}

async function lbAddress(kc: KubeConfig, name: string): Promise<string> {
  const core = kc.makeApiClient(CoreV1Api);
  return vi.waitFor(
    async () => {
      const svc = await core.readNamespacedService({ namespace: 'default', name });
      const ip = svc.status?.loadBalancer?.ingress?.[0]?.ip;
      if (ip === undefined) throw new Error(`${name} has no load balancer address yet`);
      return ip;
    },
    { timeout: 10_000, interval: 100 },
  );
}

/** Retries while kube-proxy has not yet written the rules for a new Service (its minimum sync period is 1 s). */
function eventually<T>(work: () => Promise<T>): Promise<T> {
  return vi.waitFor(work, { timeout: 15_000, interval: 250 });
}

describe.skipIf(!isRoot)('a 2-node box without kubelets', () => {
  let before: HostSnapshot;
  let knobsBefore: string[];
  let box: Box | undefined;
  let kc: KubeConfig;
  const pods: StandInPod[] = [];
  const echoes: Echo[] = [];
  const measured: Record<string, unknown> = {};

  beforeAll(async () => {
    await reapLeftovers(BOX);
    before = await snapshotHost();
    knobsBefore = await hostKnobs();
    const t = performance.now();
    box = await startBox({
      name: BOX,
      nodes: 2,
      kubelets: false,
      onProgress: (line) => console.info(`[box] ${line}`),
    });
    measured.startMs = Math.round(performance.now() - t);
    measured.stagesMs = Object.fromEntries(box.timings.map((s) => [s.stage, s.ms]));
    kc = box.cluster.kubeConfig();
  }, 180_000);

  afterAll(async () => {
    // Normally only the stand-ins are left: the last tests stopped the boxes. Here so a failure still leaves the
    // host clean.
    for (const echo of echoes) echo.stop();
    for (const pod of pods) await pod.remove();
    try {
      await box?.stop();
    } finally {
      await reapLeftovers(BOX);
      console.info(`box measurements: ${JSON.stringify(measured)}`);
    }
  }, 120_000);

  it('registers Ready nodes whose pod CIDRs are routed, each with a synced kube-proxy in its netns', async () => {
    if (box === undefined) throw new Error('no box');
    const core = kc.makeApiClient(CoreV1Api);
    const leases = kc.makeApiClient(CoordinationV1Api);
    expect(box.nodes.map((n) => [n.name, n.netns, n.ip])).toEqual([
      ['node-0', 'atest-node-0', '172.30.0.10'],
      ['node-1', 'atest-node-1', '172.30.0.11'],
    ]);
    for (const n of box.nodes) {
      const node = await core.readNode({ name: n.name });
      expect(node.spec?.podCIDR).toBe(n.podCidr);
      expect(n.podCidr).toMatch(/^10\.244\.\d+\.0\/24$/);
      expect(node.status?.addresses).toContainEqual({ type: 'InternalIP', address: n.ip });
      expect(node.status?.conditions?.find((c) => c.type === 'Ready')?.status).toBe('True');
      const lease = await leases.readNamespacedLease({ namespace: 'kube-node-lease', name: n.name });
      expect(lease.spec?.holderIdentity).toBe(n.name);
      // The other node's pod CIDR is routed over the underlay.
      const other = box.nodes.find((o) => o.name !== n.name);
      const routes = (await box.network.exec(n.name, ['ip', '-4', 'route', 'show'])).stdout;
      expect(routes).toContain(`${other?.podCidr} via ${other?.ip} dev eth0`);
      // kube-proxy wrote the kubernetes Service's rules into this netns, DNAT to the apiserver on the underlay.
      const nat = (await box.network.exec(n.name, ['iptables-save', '-t', 'nat'])).stdout;
      expect(nat).toMatch(/-A KUBE-SERVICES -d 10\.96\.0\.1\/32 .* -j KUBE-SVC-/);
      expect(nat).toMatch(/-j DNAT --to-destination 172\.30\.0\.1:\d+/);
    }
    const pids = box.pids().kubeProxy;
    measured.kubeProxyRssMib = Object.fromEntries(
      await Promise.all(Object.entries(pids).map(async ([node, pid]) => [node, await rssMib(pid)])),
    );
    for (const pid of Object.values(pids)) {
      expect(await alive(pid)).toBe(true);
      // `ip netns exec` replaced itself with kube-proxy: the pid the box stops is kube-proxy's own.
      expect((await readFile(`/proc/${pid}/comm`, 'utf8')).trim()).toBe('kube-proxy');
    }
    // Nothing host-wide changed while kube-proxy runs (conntrack limits, hashsize, route_localnet).
    expect(await hostKnobs()).toEqual(knobsBefore);
  });

  it('carries a ClusterIP Service to a stand-in pod on the other node (kube-proxy DNAT), from a node and a pod', async () => {
    if (box === undefined) throw new Error('no box');
    const [node0, node1] = box.nodes;
    if (node0 === undefined || node1 === undefined) throw new Error('two nodes expected');
    const server = await createStandInPod(BOX, node1, 1, podAddress(node1.podCidr, 200));
    pods.push(server);
    const client = await createStandInPod(BOX, node0, 0, podAddress(node0.podCidr, 200));
    pods.push(client);
    const echo = await startEcho(server.netns, server.ip, ECHO_PORT);
    echoes.push(echo);

    const svc = await createEchoService(kc, 'echo', 'ClusterIP', { ip: server.ip, node: node1.name });
    const clusterIp = svc.spec?.clusterIP ?? '';
    expect(clusterIp).toMatch(/^10\.96\./);

    const fromNode = await eventually(() => echoFrom(node0.netns, clusterIp, 80, 64 * 1024));
    expect(fromNode).toMatchObject({ sent: 65536, received: 65536, same: true });
    // From the node itself (outside the cluster CIDR) kube-proxy masquerades: the pod sees node 0's address.
    await vi.waitFor(() => expect(echo.peers).toContain(node0.ip));

    const fromPod = await eventually(() => echoFrom(client.netns, clusterIp, 80, 64 * 1024));
    expect(fromPod).toMatchObject({ same: true, local: client.ip });
    // Pod to pod across nodes keeps the source: the path a real pod's connection takes.
    await vi.waitFor(() => expect(echo.peers).toContain(client.ip));

    // Pods reach the apiserver through the kubernetes Service (10.96.0.1:443 → 172.30.0.1), TLS checked.
    const script =
      "const fs=require('node:fs');require('node:https').get({host:'10.96.0.1',port:443,path:'/version'," +
      'ca:fs.readFileSync(process.argv[1])},(r)=>{let b="";r.on("data",(c)=>(b+=c));' +
      'r.on("end",()=>{console.log(b);process.exit(r.statusCode===200?0:1)})}).on("error",(e)=>{console.error(e.message);process.exit(2)})';
    const version = await run([
      'ip',
      'netns',
      'exec',
      client.netns,
      NODE_BIN,
      '-e',
      script,
      box.cluster.pki.caCert,
    ]);
    expect(JSON.parse(version.stdout)).toMatchObject({ gitVersion: 'v1.34.4' });
  });

  it('gives LoadBalancer Services pool addresses the host reaches, answers NodePorts, and frees addresses', async () => {
    if (box === undefined) throw new Error('no box');
    const [node0, node1] = box.nodes;
    const server = pods.find((p) => p.node === 'node-1');
    if (node0 === undefined || node1 === undefined || server === undefined)
      throw new Error('needs the ClusterIP test');
    const endpoint = { ip: server.ip, node: node1.name };
    const svc = await createEchoService(kc, 'echo-lb', 'LoadBalancer', endpoint);
    const ip = await lbAddress(kc, 'echo-lb');
    expect(ip).toBe('172.30.0.200');

    // Until kube-proxy has the address's rule, a SYN to it dies in the node (nobody answers ARP) and the client's
    // retransmit timer, not kube-proxy, would set the pace: wait for the rule on every node first.
    const t = performance.now();
    await eventually(async () => {
      for (const node of [node0, node1]) {
        const nat = (await box?.network.exec(node.name, ['iptables-save', '-t', 'nat']))?.stdout ?? '';
        expect(nat).toContain(`-A KUBE-SERVICES -d ${ip}/32`);
      }
    });
    measured.lbProgrammedMs = Math.round(performance.now() - t);
    const fromHost = await echoFromHost(ip, 80, 64 * 1024);
    expect(fromHost).toMatchObject({ same: true, local: '172.30.0.1' });

    const nodePort = svc.spec?.ports?.[0]?.nodePort ?? 0;
    expect(nodePort).toBeGreaterThanOrEqual(30000);
    for (const node of [node0, node1]) {
      expect(await eventually(() => echoFromHost(node.ip, nodePort, 4096))).toMatchObject({ same: true });
    }
    // Inside the cluster the LB address is caught by kube-proxy in the caller's own netns.
    const client = pods.find((p) => p.node === 'node-0');
    expect(await eventually(() => echoFrom(client?.netns ?? '', ip, 80))).toMatchObject({ same: true });

    // A second Service gets the next address; deleting the first frees .200 for the next one.
    await createEchoService(kc, 'echo-lb2', 'LoadBalancer', endpoint);
    expect(await lbAddress(kc, 'echo-lb2')).toBe('172.30.0.201');
    await kc.makeApiClient(CoreV1Api).deleteNamespacedService({ namespace: 'default', name: 'echo-lb' });
    await createEchoService(kc, 'echo-lb3', 'LoadBalancer', endpoint);
    expect(await lbAddress(kc, 'echo-lb3')).toBe('172.30.0.200');
    expect(await eventually(() => echoFromHost('172.30.0.200', 80, 4096))).toMatchObject({ same: true });
  });

  it('stops in reverse order, leaving no process and exactly the host it found', async () => {
    if (box === undefined) throw new Error('no box');
    for (const echo of echoes.splice(0)) echo.stop();
    for (const pod of pods.splice(0)) await pod.remove();
    const pids = box.pids();
    const all = [...Object.values(pids.kubeProxy), pids.cluster.etcd, pids.cluster.apiserver];
    all.push(pids.cluster.controllerManager, pids.cluster.scheduler);
    const t = performance.now();
    await box.stop();
    measured.stopMs = Math.round(performance.now() - t);
    await box.stop(); // idempotent
    for (const pid of all) expect(await alive(pid), `pid ${pid}`).toBe(false);
    expect(await processesMentioning(box.workDir)).toEqual([]);
    expect(existsSync(box.workDir)).toBe(false);
    expect(boxDifferences(BOX, before, await snapshotHost())).toEqual([]);
    expect(await hostKnobs()).toEqual(knobsBefore);
    box = undefined;
  }, 60_000);

  it('undoes a failed start (a node hook that throws) and keeps the work dir for diagnosis', async () => {
    await box?.stop(); // when run alone (-t), the first box is still up: one box per machine at a time
    box = undefined;
    const err: unknown = await startBox({
      name: BOX,
      nodes: 2,
      startNode: (ctx) => Promise.reject(new Error(`no kubelet for ${ctx.node.name}`)),
    }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect((err as Error).message).toMatch(
      /^no kubelet for node-\d\n\(work dir kept for diagnosis: (.*atest)\)$/,
    );
    const workDir = /work dir kept for diagnosis: (.*)\)$/.exec((err as Error).message)?.[1] ?? '';
    expect(existsSync(`${workDir}/cluster/logs/kube-apiserver.log`)).toBe(true);
    expect(await processesMentioning(workDir)).toEqual([]);
    expect(boxDifferences(BOX, before, await snapshotHost())).toEqual([]);
  }, 120_000);

  it('runs a node hook (where the kubelet plugs in) instead of registering Nodes, and stops it after kube-proxy', async () => {
    await box?.stop(); // when run alone (-t), the first box is still up: one box per machine at a time
    const calls: string[] = [];
    const t = performance.now();
    const hooked = await startBox({
      name: BOX,
      nodes: 1,
      onProgress: (line) => console.info(`[hooked box] ${line}`),
      startNode: async (ctx): Promise<NodeHandle> => {
        calls.push(`start ${ctx.node.name} ${ctx.node.netns} ${ctx.node.ip}`);
        // Register as a kubelet would: with the node's own credentials (Node authorizer, NodeRestriction).
        const own = new KubeConfig();
        own.loadFromFile(ctx.kubeconfigPath);
        await own.makeApiClient(CoreV1Api).createNode({
          body: {
            metadata: { name: ctx.node.name },
            status: {
              addresses: [{ type: 'InternalIP', address: ctx.node.ip }],
              conditions: [{ type: 'Ready', status: 'True', reason: 'Test', message: 'test hook' }],
            },
          },
        });
        return {
          stop: async () => {
            const kubeProxy = box?.pids().kubeProxy[ctx.node.name] ?? -1;
            calls.push(`stop ${ctx.node.name} kube-proxy ${(await alive(kubeProxy)) ? 'running' : 'gone'}`);
          },
        };
      },
    });
    box = hooked;
    measured.hookedStartMs = Math.round(performance.now() - t);
    try {
      expect(hooked.nodes.map((n) => [n.name, n.netns, n.ip])).toEqual([
        ['node-0', 'atest-node-0', '172.30.0.10'],
      ]);
      expect(hooked.nodes[0]?.podCidr).toMatch(/^10\.244\.\d+\.0\/24$/);
      const node = await hooked.cluster.kubeConfig().makeApiClient(CoreV1Api).readNode({ name: 'node-0' });
      expect(node.metadata?.labels?.['ambit.dev/registered-by']).toBeUndefined();
    } finally {
      await hooked.stop();
      box = undefined;
    }
    expect(calls).toEqual(['start node-0 atest-node-0 172.30.0.10', 'stop node-0 kube-proxy gone']);
    expect(boxDifferences(BOX, before, await snapshotHost())).toEqual([]);
  }, 180_000);
});
