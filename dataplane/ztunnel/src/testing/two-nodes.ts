// Test and benchmark fixture: two nodes (network namespaces joined by a veth pair, each routing the other's pod
// CIDR) and pods made by the Debian CNI plugins (bridge + host-local) exactly as the fake kubelet makes them, with
// one in-process ztunnel per node and the node agent's rules. Everything it makes carries `tag` and goes in `close`.
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { ProxyState, Workload } from '@ambit/config';
import { createSandbox, removeSandbox, type Sandbox } from '@ambit/e2e/kubelet';
import { NetnsRules } from '@ambit/node-agent';
import { parseTransport, type TransportKind } from '../config/settings.ts';
import { CertManager } from '../identity/cert-manager.ts';
import { nativeSockets } from '../proxy/sockets.ts';
import { Ztunnel, type HandedPod } from '../proxy/ztunnel.ts';
import { ZtunnelMetrics } from '../telemetry/metrics.ts';
import { localCa, type LocalCa } from './local-ca.ts';
import { state, workload } from './records.ts';

const run = promisify(execFile);

export interface PodSpec {
  readonly name: string;
  readonly node: 'a' | 'b';
  /** Enrolled (HBONE, rules, handed over) at start. */
  readonly enrolled: boolean;
  /** The pod's uid, when a Pod object exists for it (the node agent finds the netns by uid). */
  readonly uid?: string;
}

export interface TwoNodesOptions {
  /** Run a ztunnel per node in this process. @default true */
  readonly inProcessZtunnels?: boolean;
  /** The CA the ztunnels' certificates come from (share it with an in-process waypoint). @default a new one */
  readonly ca?: LocalCa;
  /** The ztunnels' transport. @default ZTUNNEL_TRANSPORT, else DEFAULT_TRANSPORT */
  readonly transport?: TransportKind;
}

export interface TwoNodes {
  readonly tag: string;
  readonly work: string;
  readonly za: Ztunnel;
  readonly zb: Ztunnel;
  readonly metricsA: ZtunnelMetrics;
  readonly metricsB: ZtunnelMetrics;
  /** The transport both ztunnels use. */
  readonly transport: TransportKind;
  readonly rules: NetnsRules;
  readonly logs: string[];
  readonly sandbox: Readonly<Record<string, Sandbox>>;
  /** The netns name of node `a` or `b` (for tcpdump on the link `<tag>a`/`<tag>b`). */
  nodeNetns(node: 'a' | 'b'): string;
  netnsPath(pod: string): string;
  podIp(pod: string): string;
  workload(pod: string): Workload;
  /** Replaces a pod's record (e.g. enrol it) in the config both ztunnels get on the next `push`. */
  setWorkload(w: Workload): void;
  /** The config with the current records and these policies, pushed to both ztunnels. */
  push(extra?: {
    policies?: Parameters<typeof state>[0]['policies'];
    workloads?: Workload[];
    services?: Parameters<typeof state>[0]['services'];
  }): ProxyState;
  /** The node agent's part for a pod: rules in its netns, then the handover to its node's ztunnel. */
  enrol(pod: string): Promise<void>;
  unenrol(pod: string): Promise<void>;
  close(): Promise<void>;
}

export async function startTwoNodes(
  tag: string,
  specs: readonly PodSpec[],
  options: TwoNodesOptions = {},
): Promise<TwoNodes> {
  const nodes = { a: `${tag}-na`, b: `${tag}-nb` } as const;
  const cidrs = { a: '10.251.1.0/24', b: '10.251.2.0/24' } as const;
  const ip = (netns: string, ...args: string[]) => run('ip', ['netns', 'exec', netns, ...args]);
  const work = await mkdtemp(join(tmpdir(), `${tag}-`));
  const sandbox: Record<string, Sandbox> = {};
  const records: Record<string, Workload> = {};
  const logs: string[] = [];
  const rules = new NetnsRules();
  const made: { netns: string[] } = { netns: [] };

  const close = async () => {
    for (const s of Object.values(sandbox)) await removeSandbox(s).catch(() => undefined);
    for (const n of made.netns) await run('ip', ['netns', 'delete', n]).catch(() => undefined);
    await rm(work, { recursive: true, force: true });
  };
  try {
    for (const n of [nodes.a, nodes.b]) {
      await run('ip', ['netns', 'add', n]);
      made.netns.push(n);
      await ip(n, 'ip', 'link', 'set', 'lo', 'up');
      await ip(n, 'sysctl', '-qw', 'net.ipv4.ip_forward=1');
    }
    await run('ip', [
      'link',
      'add',
      `${tag}a`,
      'netns',
      nodes.a,
      'type',
      'veth',
      'peer',
      `${tag}b`,
      'netns',
      nodes.b,
    ]);
    await ip(nodes.a, 'ip', 'addr', 'add', '172.31.250.1/30', 'dev', `${tag}a`);
    await ip(nodes.b, 'ip', 'addr', 'add', '172.31.250.2/30', 'dev', `${tag}b`);
    await ip(nodes.a, 'ip', 'link', 'set', `${tag}a`, 'up');
    await ip(nodes.b, 'ip', 'link', 'set', `${tag}b`, 'up');
    await ip(nodes.a, 'ip', 'route', 'add', cidrs.b, 'via', '172.31.250.2');
    await ip(nodes.b, 'ip', 'route', 'add', cidrs.a, 'via', '172.31.250.1');
    let n = 0;
    for (const spec of specs) {
      const uid =
        spec.uid ??
        `${(0xa2700000 + ++n).toString(16)}-0000-4000-8000-${String(process.pid).padStart(12, '0')}`;
      const s = await createSandbox({
        nodeNetns: nodes[spec.node],
        pod: { namespace: 'demo', name: spec.name, uid },
        podCidr: cidrs[spec.node],
        workDir: join(work, spec.name),
        ipamDataDir: join(work, `ipam-${spec.node}`),
        netnsPrefix: `${tag}p`,
      });
      sandbox[spec.name] = s;
      records[spec.name] = workload(spec.name, {
        uid,
        namespace: 'demo',
        addresses: [s.podIP],
        node: `node-${spec.node}`,
        protocol: spec.enrolled ? 'HBONE' : 'NONE',
      });
    }
  } catch (err) {
    await close();
    throw err;
  }

  const ca = options.ca ?? (await localCa());
  const metricsA = new ZtunnelMetrics();
  const metricsB = new ZtunnelMetrics();
  const transport = options.transport ?? parseTransport(process.env);
  const make = (node: string, metrics: ZtunnelMetrics) =>
    new Ztunnel({
      node,
      sockets: nativeSockets,
      certs: new CertManager({ source: ca }),
      metrics,
      transport,
      log: (l) => logs.push(`${node}: ${l}`),
    });
  const za = make('node-a', metricsA);
  const zb = make('node-b', metricsB);
  const netnsPath = (pod: string) => `/var/run/netns/${sandbox[pod]?.netns ?? ''}`;
  const w = (pod: string): Workload => {
    const r = records[pod];
    if (!r) throw new Error(`no pod ${pod}`);
    return r;
  };
  const handed = (pod: string): HandedPod => ({
    uid: w(pod).uid,
    namespace: 'demo',
    name: pod,
    netns: netnsPath(pod),
    ips: w(pod).addresses,
  });
  const zOf = (pod: string) => (w(pod).node === 'node-a' ? za : zb);
  const push: TwoNodes['push'] = (extra = {}) => {
    const s = state({
      workloads: Object.values(records).map((r) => extra.workloads?.find((x) => x.uid === r.uid) ?? r),
      policies: extra.policies ?? [],
      services: extra.services ?? [],
    });
    za.update(s);
    zb.update(s);
    return s;
  };
  const nodes2 = {
    tag,
    work,
    za,
    zb,
    metricsA,
    metricsB,
    transport,
    rules,
    logs,
    sandbox,
    nodeNetns: (node: 'a' | 'b') => nodes[node],
    netnsPath,
    podIp: (pod: string) => w(pod).addresses[0] ?? '',
    workload: w,
    setWorkload: (x: Workload) => {
      records[x.name] = x;
    },
    push,
    enrol: async (pod: string) => {
      await rules.apply(netnsPath(pod));
      await zOf(pod).addPod(handed(pod));
    },
    unenrol: async (pod: string) => {
      await rules.remove(netnsPath(pod));
      zOf(pod).removePod(w(pod).uid);
    },
    close: async () => {
      await za.drain(0);
      await zb.drain(0);
      await close();
    },
  };
  push();
  if (options.inProcessZtunnels ?? true)
    for (const spec of specs) if (spec.enrolled) await nodes2.enrol(spec.name);
  return nodes2;
}
