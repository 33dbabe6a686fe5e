// Pure parts of a pod sandbox: its netns name, its resolv.conf and its hosts file, computed as the kubelet does.
import { KubeletError } from './errors.ts';

/** The cluster DNS Service address of the box (README address plan). */
export const CLUSTER_DNS = '10.96.0.10';
export const CLUSTER_DOMAIN = 'cluster.local';
/** Prefix of pod netns names outside tests. */
export const DEFAULT_NETNS_PREFIX = 'kpod-';

/**
 * A short, unique netns name from the pod uid: the prefix and the uid's first 12 hex digits (48 bits: a collision
 * among a box's few hundred pods has odds below 1e-9).
 */
export function podNetnsName(prefix: string, uid: string): string {
  const hex = uid.replace(/-/g, '').toLowerCase();
  if (!/^[0-9a-f]{12,}$/.test(hex)) {
    throw new KubeletError('ERR_SANDBOX_INVALID', `pod uid ${JSON.stringify(uid)} is not a uuid`);
  }
  return `${prefix}${hex.slice(0, 12)}`;
}

export type DnsPolicy = 'ClusterFirst' | 'ClusterFirstWithHostNet' | 'Default' | 'None';

/** `pod.spec.dnsConfig`. */
export interface PodDnsConfig {
  readonly nameservers?: readonly string[];
  readonly searches?: readonly string[];
  readonly options?: readonly { readonly name: string; readonly value?: string }[];
}

export interface DnsInput {
  readonly namespace: string;
  readonly hostNetwork: boolean;
  /** @default 'ClusterFirst' */
  readonly dnsPolicy?: DnsPolicy;
  readonly dnsConfig?: PodDnsConfig;
  /** @default CLUSTER_DNS */
  readonly clusterDns?: string;
  /** @default CLUSTER_DOMAIN */
  readonly clusterDomain?: string;
  /** The node's own resolv.conf (kubelet --resolv-conf): used by `Default`, its searches appended to cluster ones. */
  readonly node?: { readonly nameservers?: readonly string[]; readonly searches?: readonly string[] };
}

export interface ResolvConf {
  readonly nameservers: readonly string[];
  readonly searches: readonly string[];
  /** `name` or `name:value`. */
  readonly options: readonly string[];
}

function unique(xs: readonly string[]): string[] {
  return [...new Set(xs)];
}

/**
 * The pod's DNS settings (kubelet `dns.go` GetPodDNS):
 * 1. `ClusterFirst` uses cluster DNS unless the pod is hostNetwork, then it behaves as `Default`;
 *    `ClusterFirstWithHostNet` always uses cluster DNS; `Default` uses the node's; `None` starts empty.
 * 2. Cluster DNS searches `<ns>.svc.<domain>`, `svc.<domain>`, `<domain>`, then the node's searches, with `ndots:5`.
 * 3. `dnsConfig` appends nameservers and searches (deduplicated) and overrides options by name.
 */
export function podDns(i: DnsInput): ResolvConf {
  const policy = i.dnsPolicy ?? 'ClusterFirst';
  const domain = i.clusterDomain ?? CLUSTER_DOMAIN;
  const nodeSearches = i.node?.searches ?? [];
  let base: ResolvConf;
  if (policy === 'ClusterFirstWithHostNet' || (policy === 'ClusterFirst' && !i.hostNetwork)) {
    base = {
      nameservers: [i.clusterDns ?? CLUSTER_DNS],
      searches: unique([`${i.namespace}.svc.${domain}`, `svc.${domain}`, domain, ...nodeSearches]),
      options: ['ndots:5'],
    };
  } else if (policy === 'None') {
    base = { nameservers: [], searches: [], options: [] };
  } else {
    base = { nameservers: [...(i.node?.nameservers ?? [])], searches: [...nodeSearches], options: [] };
  }
  const cfg = i.dnsConfig;
  if (cfg === undefined) return base;
  const options = new Map<string, string>();
  for (const o of base.options) options.set(o.split(':')[0] ?? o, o);
  for (const o of cfg.options ?? [])
    options.set(o.name, o.value === undefined ? o.name : `${o.name}:${o.value}`);
  return {
    nameservers: unique([...base.nameservers, ...(cfg.nameservers ?? [])]),
    searches: unique([...base.searches, ...(cfg.searches ?? [])]),
    options: [...options.values()],
  };
}

/** resolv.conf text in containerd's layout: search, nameserver lines, options. */
export function resolvConfText(r: ResolvConf): string {
  let text = '';
  if (r.searches.length > 0) text += `search ${r.searches.join(' ')}\n`;
  for (const ns of r.nameservers) text += `nameserver ${ns}\n`;
  if (r.options.length > 0) text += `options ${r.options.join(' ')}\n`;
  return text;
}

export interface HostsInput {
  /** The pod's addresses (or the node's, for hostNetwork pods). */
  readonly ips: readonly string[];
  /** `spec.hostname`, else the pod name. */
  readonly hostname: string;
  readonly subdomain?: string;
  readonly namespace: string;
  /** @default CLUSTER_DOMAIN */
  readonly clusterDomain?: string;
  readonly hostAliases?: readonly { readonly ip?: string; readonly hostnames?: readonly string[] }[];
}

/** The pod hostname the kubelet derives: `spec.hostname` or the pod name, cut to 63 characters. */
export function podHostname(podName: string, specHostname?: string): string {
  const name = specHostname !== undefined && specHostname !== '' ? specHostname : podName;
  return name.length <= 63 ? name : name.slice(0, 63).replace(/[-.]+$/, '');
}

/** The kubelet-managed /etc/hosts (kubelet `managedHostsFileContent`). */
export function hostsFileText(h: HostsInput): string {
  let text =
    '# Kubernetes-managed hosts file.\n' +
    '127.0.0.1\tlocalhost\n' +
    '::1\tlocalhost ip6-localhost ip6-loopback\n' +
    'fe00::0\tip6-localnet\n' +
    'fe00::0\tip6-mcastprefix\n' +
    'fe00::1\tip6-allnodes\n' +
    'fe00::2\tip6-allrouters\n';
  const fqdnDomain =
    h.subdomain !== undefined && h.subdomain !== ''
      ? `${h.subdomain}.${h.namespace}.svc.${h.clusterDomain ?? CLUSTER_DOMAIN}`
      : undefined;
  for (const ip of h.ips) {
    text +=
      fqdnDomain === undefined
        ? `${ip}\t${h.hostname}\n`
        : `${ip}\t${h.hostname}.${fqdnDomain}\t${h.hostname}\n`;
  }
  const aliases = h.hostAliases ?? [];
  if (aliases.length > 0) {
    text += '\n# Entries added by HostAliases.\n';
    for (const a of aliases) text += `${a.ip ?? ''}\t${(a.hostnames ?? []).join('\t')}\n`;
  }
  return text;
}
