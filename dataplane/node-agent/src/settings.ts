// The node agent's settings, parsed once from the environment into one typed object (STYLE 14): nothing else reads
// process.env.

/** Env names, as the DaemonSet sets them. */
export const NODE_NAME = 'NODE_NAME';
export const HANDOVER_SOCKET = 'HANDOVER_SOCKET';
export const CNI_EVENT_SOCKET = 'CNI_EVENT_SOCKET';
export const NETNS_DIR = 'NETNS_DIR';
export const NETNS_PREFIX = 'NETNS_PREFIX';
export const HOST_PROC_DIR = 'HOST_PROC_DIR';
export const KUBECONFIG = 'KUBECONFIG';
export const HEALTH_PORT = 'HEALTH_PORT';
export const RESYNC_SECONDS = 'RESYNC_SECONDS';

export interface Settings {
  /** The node whose pods this agent captures (downward API `spec.nodeName`). */
  readonly nodeName: string;
  /** Where the ztunnel connects for the handover protocol. @default '/var/run/ambit/ztunnel.sock' */
  readonly handoverSocket: string;
  /** Where the CNI plugin asks for a capture at pod creation. @default '/var/run/ambit/cni.sock' */
  readonly cniEventSocket: string;
  /** Where pod netns files are bind-mounted. @default '/var/run/netns' */
  readonly netnsDir: string;
  /** Prefix of the pod netns names (the runtime's naming, see netns-resolver.ts). @default 'kpod-' */
  readonly netnsPrefix: string;
  /** The host's /proc (the DaemonSet mounts it at /host/proc), to find enrolled pods' netns after a restart. @default '/proc' */
  readonly hostProcDir: string;
  /** A kubeconfig file; unset means the in-cluster service account. */
  readonly kubeconfig: string | undefined;
  /** Health port (`/healthz/ready`); 0 picks a free one (tests). @default 15021 */
  readonly healthPort: number;
  /** Every pod is reconciled again this often (rules removed behind our back come back). @default 60 */
  readonly resyncSeconds: number;
}

export class SettingsError extends Error {
  readonly code = 'ERR_SETTINGS';
  constructor(message: string) {
    super(message);
    this.name = 'SettingsError';
  }
}

function intIn(
  env: Readonly<Record<string, string | undefined>>,
  key: string,
  def: number,
  min: number,
  max: number,
) {
  const raw = env[key];
  if (raw === undefined || raw === '') return def;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new SettingsError(`${key}=${JSON.stringify(raw)} must be an integer in ${min}..${max}`);
  }
  return n;
}

function path(env: Readonly<Record<string, string | undefined>>, key: string, def: string): string {
  const v = env[key];
  if (v === undefined || v === '') return def;
  if (!v.startsWith('/')) throw new SettingsError(`${key}=${JSON.stringify(v)} must be an absolute path`);
  return v;
}

export function parseSettings(env: Readonly<Record<string, string | undefined>>): Settings {
  const nodeName = env[NODE_NAME];
  if (nodeName === undefined || nodeName === '') {
    throw new SettingsError(`${NODE_NAME} is required (set it from the downward API: spec.nodeName)`);
  }
  const prefix = env[NETNS_PREFIX] ?? 'kpod-';
  if (prefix.includes('/')) throw new SettingsError(`${NETNS_PREFIX} must not contain '/'`);
  const kubeconfig = env[KUBECONFIG];
  return {
    nodeName,
    handoverSocket: path(env, HANDOVER_SOCKET, '/var/run/ambit/ztunnel.sock'),
    cniEventSocket: path(env, CNI_EVENT_SOCKET, '/var/run/ambit/cni.sock'),
    netnsDir: path(env, NETNS_DIR, '/var/run/netns'),
    netnsPrefix: prefix,
    hostProcDir: path(env, HOST_PROC_DIR, '/proc'),
    kubeconfig: kubeconfig === undefined || kubeconfig === '' ? undefined : kubeconfig,
    healthPort: intIn(env, HEALTH_PORT, 15021, 0, 65535),
    resyncSeconds: intIn(env, RESYNC_SECONDS, 60, 1, 86_400),
  };
}
