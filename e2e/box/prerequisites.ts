// Checks what a box needs from the host before it touches anything: root, the network tools, Go (to build the
// components) and the CNI plugins the fake kubelet calls.
import { access, constants } from 'node:fs/promises';
import { join } from 'node:path';
import { AMBIT_K8S_BIN } from '../cluster/index.ts';
import { DEFAULT_CNI_PATH } from '../kubelet/cni-config.ts';
import { onPath } from '../network/run.ts';
import { BoxError } from './errors.ts';

/** Tool → the Debian package (or the remedy) that brings it. */
export const REQUIRED_TOOLS: Readonly<Record<string, string>> = {
  ip: 'Debian: iproute2',
  iptables: 'Debian: iptables',
  'iptables-save': 'Debian: iptables',
  sysctl: 'Debian: procps',
  kubectl: 'Debian: kubectl; the box installs Ambit with it, as a user would',
};
export const GO_HINT = `it builds the Kubernetes components; install Go, or set ${AMBIT_K8S_BIN} to a dir of prebuilt ones`;
/** The plugins of the fake kubelet's pod network chain (e2e/kubelet/cni-config.ts). */
export const REQUIRED_CNI_PLUGINS = ['bridge', 'host-local', 'loopback'] as const;

export interface HostFacts {
  readonly uid: number | undefined;
  /** Tool name → found on PATH (`go` included). */
  readonly tools: Readonly<Record<string, boolean>>;
  /** Plugin → found (executable) in one of the CNI dirs. */
  readonly cniPlugins: Readonly<Record<string, boolean>>;
  readonly cniDirs: readonly string[];
  /** $AMBIT_K8S_BIN: prebuilt components, so Go is not needed. */
  readonly prebuiltDir: string | undefined;
}

/** One sentence per missing prerequisite; empty when the host is ready. */
export function missingPrerequisites(f: HostFacts): string[] {
  const out: string[] = [];
  if (f.uid !== 0) out.push('not root: the box creates network namespaces, veths and iptables rules');
  for (const [tool, hint] of Object.entries(REQUIRED_TOOLS)) {
    if (f.tools[tool] !== true) out.push(`${tool} is not installed (${hint})`);
  }
  if (f.prebuiltDir === undefined && f.tools.go !== true) out.push(`go is not on PATH: ${GO_HINT}`);
  const missing = REQUIRED_CNI_PLUGINS.filter((p) => f.cniPlugins[p] !== true);
  if (missing.length > 0) {
    out.push(
      `CNI plugin(s) ${missing.join(', ')} missing in ${f.cniDirs.join(':')} (Debian: containernetworking-plugins)`,
    );
  }
  return out;
}

async function executable(path: string): Promise<boolean> {
  try {
    await access(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export async function readHostFacts(env: NodeJS.ProcessEnv = process.env): Promise<HostFacts> {
  const names = [...Object.keys(REQUIRED_TOOLS), 'go'];
  const found = await Promise.all(names.map((t) => onPath(t)));
  const cniDirs = DEFAULT_CNI_PATH;
  const cniPlugins: Record<string, boolean> = {};
  for (const plugin of REQUIRED_CNI_PLUGINS) {
    const hits = await Promise.all(cniDirs.map((dir) => executable(join(dir, plugin))));
    cniPlugins[plugin] = hits.some(Boolean);
  }
  return {
    uid: process.getuid?.(),
    tools: Object.fromEntries(names.map((t, i) => [t, found[i] === true])),
    cniPlugins,
    cniDirs,
    prebuiltDir: env[AMBIT_K8S_BIN] || undefined,
  };
}

/** Throws `ERR_BOX_PREREQUISITE` listing everything missing at once. */
export async function checkPrerequisites(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const missing = missingPrerequisites(await readHostFacts(env));
  if (missing.length > 0) {
    throw new BoxError('ERR_BOX_PREREQUISITE', `the box cannot run on this host: ${missing.join('; ')}`);
  }
}
