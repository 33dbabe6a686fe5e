// The CNI install step of a node agent image (as istio-cni's install-cni does it): puts the chained plugin's binary
// into the node's CNI bin directory and appends the plugin to the node's conflist, then undoes both on the way out
// so that pods created after the agent is gone are not refused by a plugin with no agent to answer it.
//
// Invariants:
//  1. the conflist keeps every other plugin and field as it was; ours is last and appears once;
//  2. files are replaced by rename, so the runtime reads the old or the new conflist, never half of one;
//  3. install and uninstall are idempotent (the installer re-checks periodically: a network add-on that rewrites
//     its conflist drops us, and we chain in again).
import { chmodSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pickConflistFile } from '../../cni-config.ts';

/** The `type` of Ambit's chained plugin (dataplane/node-agent/bin/ambit-cni). */
export const AMBIT_CNI_TYPE = 'ambit-cni';

export interface ChainedPlugin {
  readonly type: string;
  readonly [key: string]: unknown;
}

type Json = Record<string, unknown>;

function parseList(text: string): Json & { plugins: Json[] } {
  const v: unknown = JSON.parse(text);
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    throw new Error('conflist is not a JSON object');
  const list = v as Json;
  if (!Array.isArray(list.plugins)) throw new Error('conflist has no plugins list');
  return list as Json & { plugins: Json[] };
}

function render(list: Json): string {
  return `${JSON.stringify(list, null, 2)}\n`;
}

/** The conflist with `plugin` as its last plugin (an older entry of its type replaced); undefined if already so. */
export function chainInto(text: string, plugin: ChainedPlugin): string | undefined {
  const list = parseList(text);
  const others = list.plugins.filter((p) => p.type !== plugin.type);
  const last = list.plugins[list.plugins.length - 1];
  if (others.length === list.plugins.length - 1 && JSON.stringify(last) === JSON.stringify(plugin))
    return undefined;
  return render({ ...list, plugins: [...others, { ...plugin }] });
}

/** The conflist without plugins of `type`; undefined if it had none. */
export function unchainFrom(text: string, type: string): string | undefined {
  const list = parseList(text);
  const kept = list.plugins.filter((p) => p.type !== type);
  return kept.length === list.plugins.length ? undefined : render({ ...list, plugins: kept });
}

/** The plugin binary as written into the node's CNI bin dir: it runs the image's copy of the plugin. */
export function pluginScript(pluginPath: string): string {
  return `#!/bin/sh\n# Installed by the Ambit node agent; removed when it stops.\nexec '${pluginPath.replace(/'/g, `'\\''`)}' "$@"\n`;
}

export interface CniInstall {
  /** The node's CNI bin dir as the container sees it (CNI_BIN_DIR, /host/opt/cni/bin). */
  readonly binDir: string;
  /** The node's CNI config dir as the container sees it (CNI_CONF_DIR, /host/etc/cni/net.d). */
  readonly confDir: string;
  /** The plugin program the binary runs. */
  readonly pluginPath: string;
  /** What goes into the conflist (type AMBIT_CNI_TYPE and where the agent listens). */
  readonly plugin: ChainedPlugin;
}

function writeAtomic(dir: string, name: string, text: string, mode: number): void {
  const tmp = join(dir, `.${name}.tmp`);
  writeFileSync(tmp, text, { mode });
  chmodSync(tmp, mode);
  renameSync(tmp, join(dir, name));
}

function conflistPath(confDir: string): string | undefined {
  const file = pickConflistFile(readdirSync(confDir));
  return file === undefined ? undefined : join(confDir, file);
}

/** What install did: `waiting` while the node has no conflist yet (the network add-on comes first). */
export type InstallOutcome = 'installed' | 'unchanged' | 'waiting';

/** Writes the binary, then chains the plugin into the first conflist (so the runtime never calls a missing binary). */
export function installCni(o: CniInstall): InstallOutcome {
  const binary = pluginScript(o.pluginPath);
  let binaryChanged = false;
  let current = '';
  try {
    current = readFileSync(join(o.binDir, o.plugin.type), 'utf8');
  } catch {
    // not there yet
  }
  if (current !== binary) {
    writeAtomic(o.binDir, o.plugin.type, binary, 0o755);
    binaryChanged = true;
  }
  const path = conflistPath(o.confDir);
  if (path === undefined) return 'waiting';
  const next = chainInto(readFileSync(path, 'utf8'), o.plugin);
  if (next !== undefined) writeAtomic(o.confDir, path.slice(o.confDir.length + 1), next, 0o644);
  return next !== undefined || binaryChanged ? 'installed' : 'unchanged';
}

/** Takes the plugin out of the conflist, then removes the binary. Synchronous: it runs in a signal handler. */
export function uninstallCni(o: CniInstall): void {
  const path = conflistPath(o.confDir);
  if (path !== undefined) {
    const next = unchainFrom(readFileSync(path, 'utf8'), o.plugin.type);
    if (next !== undefined) writeAtomic(o.confDir, path.slice(o.confDir.length + 1), next, 0o644);
  }
  rmSync(join(o.binDir, o.plugin.type), { force: true });
}
