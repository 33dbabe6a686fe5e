// Pure CNI definitions: the pod network conflist, the per-plugin stdin config, the CNI_* environment and result parsing.
import { CniError, KubeletError } from './errors.ts';
import { shellQuote } from './launcher.ts';

/** The CNI spec version the box speaks. */
export const CNI_VERSION = '1.0.0';
/** Where Debian's containernetworking-plugins live. */
export const DEFAULT_CNI_PATH: readonly string[] = ['/usr/lib/cni'];
/** The interface name every runtime gives the pod's primary interface. */
export const POD_IFNAME = 'eth0';

/** One plugin of a conflist; everything but `type` is the plugin's own business. */
export interface CniPluginConf {
  readonly type: string;
  readonly [key: string]: unknown;
}

export interface CniConflist {
  readonly cniVersion: string;
  readonly name: string;
  readonly plugins: readonly CniPluginConf[];
}

export interface PodConflistOptions {
  /** The node's pod CIDR (`node.spec.podCIDR`), e.g. `10.244.50.0/24`; its first address is the gateway. */
  readonly podCidr: string;
  /** Directory for host-local's allocations; one per node, shared by the node's pods. */
  readonly ipamDataDir: string;
  /** The node-side bridge. @default 'cni0' */
  readonly bridge?: string;
  /** Appended after the bridge, e.g. Ambit's node-agent plugin. @default [] */
  readonly extraPlugins?: readonly CniPluginConf[];
  /** The network name (names host-local's state and the result cache). @default 'ambit-podnet' */
  readonly name?: string;
}

/**
 * The conflist a node's container runtime would read from /etc/cni/net.d: loopback, then a bridge that is the pods'
 * gateway (no masquerade: nothing leaves the box; hairpin so a pod can reach itself through a Service), with
 * host-local IPAM on the node's pod CIDR and a default route, then any chained plugins.
 */
export function podConflist(o: PodConflistOptions): CniConflist {
  return {
    cniVersion: CNI_VERSION,
    name: o.name ?? 'ambit-podnet',
    plugins: [
      { type: 'loopback' },
      {
        type: 'bridge',
        bridge: o.bridge ?? 'cni0',
        isGateway: true,
        ipMasq: false,
        hairpinMode: true,
        ipam: {
          type: 'host-local',
          ranges: [[{ subnet: o.podCidr }]],
          routes: [{ dst: '0.0.0.0/0' }],
          dataDir: o.ipamDataDir,
        },
      },
      ...(o.extraPlugins ?? []),
    ],
  };
}

/** The file name the kubelet gives its pod network in a CNI config directory: first in lexical order. */
export function conflistFileName(name: string): string {
  return `10-${name}.conflist`;
}

/**
 * The file a runtime uses from a CNI config directory's entries: the first `*.conflist` in lexical order
 * (containerd and CRI-O take the first file libcni's `ConfFiles` lists). Single-plugin `.conf` files are not read.
 */
export function pickConflistFile(entries: readonly string[]): string | undefined {
  return entries.filter((e) => e.endsWith('.conflist') && !e.startsWith('.')).sort()[0];
}

/** A conflist file's text, checked for what the runtime reads (`cniVersion`, `name`, each plugin's `type`). */
export function parseConflist(text: string, source: string): CniConflist {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    throw new KubeletError('ERR_CNI_CONFIG', `${source} is not JSON`, { cause: err });
  }
  const bad = (what: string): KubeletError => new KubeletError('ERR_CNI_CONFIG', `${source}: ${what}`);
  if (!isRecord(v)) throw bad('not a JSON object');
  if (typeof v.cniVersion !== 'string' || v.cniVersion === '') throw bad('cniVersion must be a string');
  if (typeof v.name !== 'string' || v.name === '') throw bad('name must be a string');
  if (!Array.isArray(v.plugins) || v.plugins.length === 0) throw bad('plugins must be a non-empty list');
  const plugins = v.plugins.map((p: unknown, i) => {
    if (!isRecord(p) || typeof p.type !== 'string' || p.type === '' || p.type.includes('/')) {
      throw bad(`plugins[${i}] needs a type (a file name in CNI_PATH)`);
    }
    return p as CniPluginConf;
  });
  return { cniVersion: v.cniVersion, name: v.name, plugins };
}

/**
 * What a CNI plugin sees of the node's own directories: on a real node the runtime and its plugins see the node's
 * filesystem; in the box every node shares the machine's, so directories that are the node's own (those hostPath
 * volumes resolve under the node root, e.g. `/var/run/ambit` where a chained plugin finds its agent's socket) are
 * bound over their node path in a mount namespace of the plugin's own.
 */
export interface CniNodeView {
  /** Host directory → node path. */
  readonly binds: readonly { readonly source: string; readonly target: string }[];
  /** Empty host directories (made for missing mount points) to cover with a tmpfs before binding below them. */
  readonly tmpfsDirs: readonly string[];
}

/**
 * The script that makes the node view and execs the plugin, run as `sh -c <script> cni-plugin <file>`; a failing
 * step exits 125 with the tool's message on stderr (which the runtime reports).
 */
export function nodeViewScript(
  view: CniNodeView,
  tools: { readonly mount: string; readonly mkdir: string },
): string {
  const q = shellQuote;
  const lines: string[] = [];
  for (const dir of view.tmpfsDirs) {
    lines.push(`${q(tools.mount)} -t tmpfs -o mode=0755,size=1m ambit-mountpoints ${q(dir)} || exit 125`);
  }
  for (const b of view.binds) {
    lines.push(`${q(tools.mkdir)} -p ${q(b.target)} || exit 125`);
    lines.push(`${q(tools.mount)} --rbind ${q(b.source)} ${q(b.target)} || exit 125`);
  }
  lines.push('exec "$@"');
  return `${lines.join('\n')}\n`;
}

/** The identity of the pod a CNI call is for. */
export interface CniPodRef {
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
}

/** CNI_ARGS as the kubelet's runtime (containerd, CRI-O) sets them. */
export function cniArgs(pod: CniPodRef, sandboxId: string): string {
  return [
    'IgnoreUnknown=1',
    `K8S_POD_NAMESPACE=${pod.namespace}`,
    `K8S_POD_NAME=${pod.name}`,
    `K8S_POD_INFRA_CONTAINER_ID=${sandboxId}`,
    `K8S_POD_UID=${pod.uid}`,
  ].join(';');
}

export type CniCommand = 'ADD' | 'DEL' | 'CHECK';

export interface CniEnvInput {
  readonly command: CniCommand;
  readonly containerId: string;
  /** e.g. `/var/run/netns/<name>`. */
  readonly netnsPath: string;
  readonly ifName: string;
  readonly args: string;
  readonly cniPath: readonly string[];
}

/** The CNI_* variables of one plugin invocation (added to the runtime's own environment). */
export function cniEnv(i: CniEnvInput): Record<string, string> {
  return {
    CNI_COMMAND: i.command,
    CNI_CONTAINERID: i.containerId,
    CNI_NETNS: i.netnsPath,
    CNI_IFNAME: i.ifName,
    CNI_ARGS: i.args,
    CNI_PATH: i.cniPath.join(':'),
  };
}

/**
 * The config written to plugin `index`'s stdin: the plugin's own keys with the list's `name` and `cniVersion`
 * injected, and `prevResult` when there is one (libcni `buildOneConfig`).
 */
export function pluginStdinConfig(
  list: CniConflist,
  index: number,
  prevResult: CniResult | undefined,
): Record<string, unknown> {
  const plugin = list.plugins[index];
  if (plugin === undefined) throw new RangeError(`conflist ${list.name} has no plugin ${index}`);
  const conf: Record<string, unknown> = { ...plugin, name: list.name, cniVersion: list.cniVersion };
  if (prevResult !== undefined) conf.prevResult = prevResult;
  return conf;
}

/** CNI 1.0.0 result (only the fields the runtime reads are typed; plugins may add more). */
export interface CniResult {
  readonly cniVersion: string;
  readonly interfaces?: readonly {
    readonly name: string;
    readonly mac?: string;
    readonly sandbox?: string;
  }[];
  readonly ips?: readonly {
    readonly address: string;
    readonly gateway?: string;
    readonly interface?: number;
  }[];
  readonly routes?: readonly { readonly dst: string; readonly gw?: string }[];
  readonly dns?: Record<string, unknown>;
  readonly [key: string]: unknown;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Parses a plugin's successful stdout; an empty stdout (DEL, CHECK) is undefined. */
export function parseCniResult(plugin: string, stdout: string): CniResult | undefined {
  if (stdout.trim() === '') return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(stdout);
  } catch (err) {
    throw new KubeletError('ERR_CNI_RESULT', `cni plugin ${plugin} printed a result that is not JSON`, {
      cause: err,
    });
  }
  if (!isRecord(parsed) || typeof parsed.cniVersion !== 'string') {
    throw new KubeletError('ERR_CNI_RESULT', `cni plugin ${plugin} printed a result without cniVersion`);
  }
  return parsed as CniResult;
}

/**
 * The error a failed plugin reports: the spec's JSON `{ code, msg, details }` on stdout; falls back to stderr or the
 * exit status for plugins that crash without one.
 */
export function parseCniError(
  plugin: string,
  command: CniCommand,
  out: { readonly stdout: string; readonly stderr: string; readonly exit: string },
): CniError {
  let code: number | undefined;
  let msg: string | undefined;
  try {
    const parsed: unknown = JSON.parse(out.stdout);
    if (isRecord(parsed)) {
      if (typeof parsed.code === 'number') code = parsed.code;
      if (typeof parsed.msg === 'string') {
        msg =
          typeof parsed.details === 'string' && parsed.details !== ''
            ? `${parsed.msg}: ${parsed.details}`
            : parsed.msg;
      }
    }
  } catch {
    // not JSON: use what else we have
  }
  const text = msg ?? (out.stderr.trim() || out.stdout.trim() || out.exit);
  const codeText = code === undefined ? '' : ` (cni code ${code})`;
  return new CniError(plugin, code, `cni plugin ${plugin} failed ${command}${codeText}: ${text}`);
}

/**
 * The pod's IPv4 address from the final result: the first IPv4 entry on the sandbox's `ifName` (or without an
 * interface index, as some IPAM-only results have).
 */
export function podIPFromResult(result: CniResult, ifName: string): string {
  const ifaces = result.interfaces ?? [];
  for (const ip of result.ips ?? []) {
    const iface = ip.interface === undefined ? undefined : ifaces[ip.interface];
    if (
      iface !== undefined &&
      (iface.name !== ifName || iface.sandbox === undefined || iface.sandbox === '')
    ) {
      continue;
    }
    const addr = ip.address.split('/')[0] ?? '';
    if (/^\d+\.\d+\.\d+\.\d+$/.test(addr)) return addr;
  }
  throw new KubeletError('ERR_CNI_RESULT', `the cni result gives ${ifName} no IPv4 address`);
}
