// Ambit's chained CNI plugin (CNI spec 1.0.0): runs after the pod network plugins, asks the node agent to capture
// the new pod (the agent decides enrollment from its caches), and passes prevResult through unchanged.
//
//   ADD     prevResult required; POST pod-added to the agent; prints prevResult. Agent unreachable → error 11 (try
//           again later): the runtime retries the sandbox rather than start a pod that might escape the mesh.
//   DEL     tells the agent, best effort (the agent also sees the pod go); never fails; prints nothing.
//   CHECK   prevResult required; prints nothing.
//   VERSION prints the supported versions.
// Plugin config keys of our own: `eventSocket` (default /var/run/ambit/cni.sock), `timeoutMs` (default 10000).
import { POD_ADDED, POD_DELETED, postCniEvent } from './cni-event.ts';

export const CNI_VERSION = '1.0.0';
export const SUPPORTED_VERSIONS = ['0.3.0', '0.3.1', '0.4.0', '1.0.0'] as const;
export const DEFAULT_EVENT_SOCKET = '/var/run/ambit/cni.sock';

/** CNI spec error codes (1-99 reserved by the spec, 100+ ours). */
export const CniCode = {
  incompatibleVersion: 1,
  invalidEnv: 4,
  ioFailure: 5,
  decodeFailure: 6,
  invalidConfig: 7,
  tryAgainLater: 11,
  captureFailed: 100,
} as const;
export type CniCodeValue = (typeof CniCode)[keyof typeof CniCode];

export class CniPluginError extends Error {
  readonly code = 'ERR_CNI_PLUGIN';
  readonly cniCode: CniCodeValue;
  readonly details: string | undefined;
  constructor(cniCode: CniCodeValue, message: string, details?: string) {
    super(message);
    this.name = 'CniPluginError';
    this.cniCode = cniCode;
    this.details = details;
  }
}

export type CniCommand = 'ADD' | 'DEL' | 'CHECK' | 'VERSION';

export interface PluginConfig {
  readonly cniVersion: string;
  readonly name: string;
  readonly type: string;
  readonly prevResult: Record<string, unknown> | undefined;
  readonly eventSocket: string;
  readonly timeoutMs: number;
}

export interface CniInvocation {
  readonly command: CniCommand;
  readonly containerId: string | undefined;
  readonly netns: string | undefined;
  /** K8S_POD_* from CNI_ARGS. */
  readonly pod: { readonly namespace: string; readonly name: string; readonly uid: string } | undefined;
}

export function parseCommand(env: Readonly<Record<string, string | undefined>>): CniCommand {
  const c = env.CNI_COMMAND;
  if (c === 'ADD' || c === 'DEL' || c === 'CHECK' || c === 'VERSION') return c;
  throw new CniPluginError(
    CniCode.invalidEnv,
    `CNI_COMMAND ${JSON.stringify(c ?? '')} is not ADD, DEL, CHECK or VERSION`,
  );
}

/** `IgnoreUnknown=1;K8S_POD_NAMESPACE=ns;K8S_POD_NAME=n;...` into a map. */
export function parseCniArgs(args: string | undefined): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of (args ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0) out.set(part.slice(0, eq), part.slice(eq + 1));
  }
  return out;
}

export function parseInvocation(env: Readonly<Record<string, string | undefined>>): CniInvocation {
  const command = parseCommand(env);
  const args = parseCniArgs(env.CNI_ARGS);
  const namespace = args.get('K8S_POD_NAMESPACE');
  const name = args.get('K8S_POD_NAME');
  const uid = args.get('K8S_POD_UID');
  return {
    command,
    containerId: env.CNI_CONTAINERID,
    netns: env.CNI_NETNS === '' ? undefined : env.CNI_NETNS,
    pod:
      namespace !== undefined && name !== undefined && uid !== undefined && uid !== ''
        ? { namespace, name, uid }
        : undefined,
  };
}

export function parseConfig(stdin: string): PluginConfig {
  let v: unknown;
  try {
    v = JSON.parse(stdin);
  } catch {
    throw new CniPluginError(CniCode.decodeFailure, 'network config on stdin is not JSON');
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    throw new CniPluginError(CniCode.decodeFailure, 'network config on stdin is not a JSON object');
  }
  const o = v as Record<string, unknown>;
  const s = (k: string, def?: string): string => {
    const x = o[k] ?? def;
    if (typeof x !== 'string' || x === '')
      throw new CniPluginError(CniCode.invalidConfig, `config field ${k} must be a string`);
    return x;
  };
  const cniVersion = s('cniVersion');
  if (!(SUPPORTED_VERSIONS as readonly string[]).includes(cniVersion)) {
    throw new CniPluginError(CniCode.incompatibleVersion, `cniVersion ${cniVersion} is not supported`);
  }
  const prev = o.prevResult;
  if (prev !== undefined && (typeof prev !== 'object' || prev === null || Array.isArray(prev))) {
    throw new CniPluginError(CniCode.invalidConfig, 'prevResult must be an object');
  }
  const timeoutMs = o.timeoutMs ?? 10_000;
  if (typeof timeoutMs !== 'number' || !(timeoutMs > 0)) {
    throw new CniPluginError(CniCode.invalidConfig, 'timeoutMs must be a positive number');
  }
  return {
    cniVersion,
    name: s('name'),
    type: s('type'),
    prevResult: prev as Record<string, unknown> | undefined,
    eventSocket: s('eventSocket', DEFAULT_EVENT_SOCKET),
    timeoutMs,
  };
}

/** The pod's IPv4 addresses from a CNI result (`ips[].address` is CIDR notation). */
export function podIPs(prevResult: Record<string, unknown>): string[] {
  const ips = Array.isArray(prevResult.ips) ? (prevResult.ips as unknown[]) : [];
  const out: string[] = [];
  for (const e of ips) {
    const addr = typeof e === 'object' && e !== null ? (e as { address?: unknown }).address : undefined;
    if (typeof addr !== 'string') continue;
    const ip = addr.split('/')[0] ?? '';
    if (/^\d+\.\d+\.\d+\.\d+$/.test(ip)) out.push(ip);
  }
  return out;
}

/** What to print and the exit status. */
export interface CniOutput {
  readonly stdout: string;
  readonly exitCode: number;
}

export function errorOutput(err: unknown, cniVersion = CNI_VERSION): CniOutput {
  const e =
    err instanceof CniPluginError
      ? err
      : new CniPluginError(CniCode.ioFailure, err instanceof Error ? err.message : String(err));
  const body = {
    cniVersion,
    code: e.cniCode,
    msg: e.message,
    ...(e.details === undefined ? {} : { details: e.details }),
  };
  return { stdout: `${JSON.stringify(body)}\n`, exitCode: 1 };
}

export type EventPoster = (
  socketPath: string,
  path: string,
  body: unknown,
  timeoutMs: number,
) => Promise<unknown>;

/** The plugin, with the agent call injected; never throws (errors become CNI error output). */
export async function runPlugin(
  env: Readonly<Record<string, string | undefined>>,
  stdin: string,
  post: EventPoster = postCniEvent,
): Promise<CniOutput> {
  let version = CNI_VERSION;
  try {
    const inv = parseInvocation(env);
    if (inv.command === 'VERSION') {
      return {
        stdout: `${JSON.stringify({ cniVersion: CNI_VERSION, supportedVersions: SUPPORTED_VERSIONS })}\n`,
        exitCode: 0,
      };
    }
    const conf = parseConfig(stdin);
    version = conf.cniVersion;
    if (inv.command === 'DEL') {
      if (inv.pod !== undefined) {
        await post(conf.eventSocket, POD_DELETED, inv.pod, conf.timeoutMs).catch(() => undefined);
      }
      return { stdout: '', exitCode: 0 };
    }
    if (conf.prevResult === undefined) {
      throw new CniPluginError(
        CniCode.invalidConfig,
        `${conf.type} must be chained after a plugin that sets prevResult`,
      );
    }
    if (inv.command === 'CHECK') return { stdout: '', exitCode: 0 };
    if (inv.pod === undefined) {
      throw new CniPluginError(
        CniCode.invalidEnv,
        'CNI_ARGS lacks K8S_POD_NAMESPACE, K8S_POD_NAME or K8S_POD_UID',
      );
    }
    if (inv.netns === undefined) throw new CniPluginError(CniCode.invalidEnv, 'CNI_NETNS is not set');
    try {
      await post(
        conf.eventSocket,
        POD_ADDED,
        { ...inv.pod, netns: inv.netns, ips: podIPs(conf.prevResult) },
        conf.timeoutMs,
      );
    } catch (err) {
      const e = err as Error & { code?: string };
      throw new CniPluginError(
        e.code === 'ERR_CNI_EVENT_UNAVAILABLE' ? CniCode.tryAgainLater : CniCode.captureFailed,
        `ambit: capture of pod ${inv.pod.namespace}/${inv.pod.name} failed`,
        e.message,
      );
    }
    return { stdout: `${JSON.stringify(conf.prevResult)}\n`, exitCode: 0 };
  } catch (err) {
    return errorOutput(err, version);
  }
}

async function readStdin(): Promise<string> {
  let text = '';
  process.stdin.setEncoding('utf8');
  for await (const chunk of process.stdin) text += chunk as string;
  return text;
}

if (import.meta.main) {
  const out = await runPlugin(process.env, await readStdin());
  process.stdout.write(out.stdout);
  process.exitCode = out.exitCode;
}
