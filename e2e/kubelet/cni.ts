// Runs a CNI conflist the way a container runtime does (libcni): ADD in order, DEL in reverse with the cached result.
import { accessSync, constants } from 'node:fs';
import { readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  cniArgs,
  cniEnv,
  conflistFileName,
  nodeViewScript,
  parseConflist,
  pickConflistFile,
  parseCniError,
  parseCniResult,
  pluginStdinConfig,
  type CniCommand,
  type CniConflist,
  type CniNodeView,
  type CniPodRef,
  type CniResult,
} from './cni-config.ts';
import { KubeletError } from './errors.ts';
import { runCapture, tool } from './tools.ts';

/** Where plugins run: the node's network namespace, so bridges and veth host ends live there. */
export interface CniRuntime {
  /** Name of the node's netns (under /var/run/netns). */
  readonly nodeNetns: string;
  /** Directories searched for plugin binaries, in order. */
  readonly cniPath: readonly string[];
  /** Per plugin call. @default 60_000 */
  readonly timeoutMs?: number;
  /** The node's own directories as plugins see them (see CniNodeView). @default none: the machine's */
  readonly nodeView?: CniNodeView;
}

/** One pod interface: what ADD creates and DEL tears down. */
export interface CniAttachment {
  readonly conflist: CniConflist;
  /** The sandbox ("infra container") id, CNI_CONTAINERID. */
  readonly containerId: string;
  readonly netnsPath: string;
  readonly ifName: string;
  readonly pod: CniPodRef;
}

/** What the per-pod cache file holds (libcni keeps the same under /var/lib/cni/results). */
interface CniCache {
  readonly kind: 'ambitCniCacheV1';
  readonly attachment: CniAttachment;
  /** Absent while ADD is running or after it failed. */
  readonly result?: CniResult;
}

function findPlugin(type: string, cniPath: readonly string[]): string {
  for (const dir of cniPath) {
    const candidate = `${dir}/${type}`;
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // next directory
    }
  }
  throw new KubeletError('ERR_CNI_PLUGIN_NOT_FOUND', `cni plugin ${type} not found in ${cniPath.join(':')}`);
}

async function invoke(
  rt: CniRuntime,
  att: CniAttachment,
  command: CniCommand,
  index: number,
  prevResult: CniResult | undefined,
): Promise<CniResult | undefined> {
  const plugin = att.conflist.plugins[index];
  if (plugin === undefined) throw new RangeError(`no plugin ${index}`);
  const file = findPlugin(plugin.type, rt.cniPath);
  const env = {
    ...process.env, // plugins may call iptables & co. and need PATH, as libcni passes os.Environ()
    ...cniEnv({
      command,
      containerId: att.containerId,
      netnsPath: att.netnsPath,
      ifName: att.ifName,
      args: cniArgs(att.pod, att.containerId),
      cniPath: rt.cniPath,
    }),
  };
  const view = rt.nodeView;
  const argv =
    view === undefined || view.binds.length === 0
      ? [file]
      : [
          tool('unshare'),
          '--mount',
          '--propagation',
          'slave',
          '--',
          tool('sh'),
          '-c',
          nodeViewScript(view, { mount: tool('mount'), mkdir: tool('mkdir') }),
          'cni-plugin',
          file,
        ];
  const res = await runCapture(tool('ip'), ['netns', 'exec', rt.nodeNetns, ...argv], {
    input: JSON.stringify(pluginStdinConfig(att.conflist, index, prevResult)),
    env,
    timeoutMs: rt.timeoutMs ?? 60_000,
  });
  if (res.code !== 0) {
    const exit = res.signal !== null ? `killed by ${res.signal}` : `exit ${String(res.code)}`;
    throw parseCniError(plugin.type, command, { stdout: res.stdout, stderr: res.stderr, exit });
  }
  return command === 'ADD' ? parseCniResult(plugin.type, res.stdout) : undefined;
}

async function writeCache(path: string, cache: CniCache): Promise<void> {
  await writeFile(path, `${JSON.stringify(cache, null, 2)}\n`, { mode: 0o600 });
}

/**
 * ADD: each plugin in order, each given the previous one's result; the last result is cached at `cachePath`.
 * The attachment is cached before the first plugin runs, so a DEL can clean up after a failed or interrupted ADD.
 */
export async function cniAdd(rt: CniRuntime, att: CniAttachment, cachePath: string): Promise<CniResult> {
  await writeCache(cachePath, { kind: 'ambitCniCacheV1', attachment: att });
  let result: CniResult | undefined;
  for (let i = 0; i < att.conflist.plugins.length; i++) {
    result = (await invoke(rt, att, 'ADD', i, result)) ?? result;
  }
  if (result === undefined) {
    throw new KubeletError('ERR_CNI_RESULT', `conflist ${att.conflist.name} produced no result`);
  }
  await writeCache(cachePath, { kind: 'ambitCniCacheV1', attachment: att, result });
  return result;
}

/** The cached attachment and result, or undefined if there is no cache file. */
export async function readCniCache(
  cachePath: string,
): Promise<{ attachment: CniAttachment; result?: CniResult } | undefined> {
  let text: string;
  try {
    text = await readFile(cachePath, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  const cache = JSON.parse(text) as CniCache;
  if (cache.kind !== 'ambitCniCacheV1') {
    throw new KubeletError('ERR_CNI_RESULT', `${cachePath} is not a cni cache file`);
  }
  return cache.result === undefined
    ? { attachment: cache.attachment }
    : { attachment: cache.attachment, result: cache.result };
}

/**
 * DEL: each plugin in reverse order with the cached result as prevResult. Plugins must succeed on state that is
 * already gone (CNI spec), so DEL is idempotent; every plugin is tried even if one fails, the first failure is thrown
 * and the cache is kept for a retry. No cache file means nothing was added: a no-op.
 */
export async function cniDel(rt: CniRuntime, cachePath: string): Promise<void> {
  const cache = await readCniCache(cachePath);
  if (cache === undefined) return;
  let first: Error | undefined;
  for (let i = cache.attachment.conflist.plugins.length - 1; i >= 0; i--) {
    try {
      await invoke(rt, cache.attachment, 'DEL', i, cache.result);
    } catch (err) {
      first ??= err instanceof Error ? err : new Error(String(err));
    }
  }
  if (first !== undefined) throw first;
  await rm(cachePath, { force: true });
}

/**
 * The conflist a runtime would use from the node's CNI config directory, read at each sandbox creation (containerd
 * reloads it when the directory changes), so a plugin that chains itself in (Ambit's node agent) is used from the
 * next pod on. ERR_CNI_CONFIG when there is none or it is malformed: the pod's sandbox fails, as on a node whose
 * network plugin is not ready.
 */
export async function loadConflist(dir: string): Promise<CniConflist> {
  const entries = await readdir(dir).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return [];
    throw err;
  });
  const file = pickConflistFile(entries);
  if (file === undefined) {
    throw new KubeletError('ERR_CNI_CONFIG', `no network config found in ${dir}: cni plugin not initialized`);
  }
  const path = join(dir, file);
  return parseConflist(await readFile(path, 'utf8'), path);
}

/** Writes the kubelet's pod network into the node's CNI config directory (atomically: a reader sees old or new). */
export async function writeConflist(dir: string, list: CniConflist): Promise<string> {
  const path = join(dir, conflistFileName(list.name));
  const tmp = join(dir, `.${conflistFileName(list.name)}.tmp`);
  await writeFile(tmp, `${JSON.stringify(list, null, 2)}\n`, { mode: 0o644 });
  await rename(tmp, path);
  return path;
}
