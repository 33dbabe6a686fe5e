// Where catalogue programs live on the host: the repo's pinned node binary and the scripts in ./programs.
import { accessSync, constants } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KubeletError } from '../errors.ts';
import type { ImageProgram } from './catalogue.ts';

const HERE = dirname(fileURLToPath(import.meta.url));
/** The npm `node` package's binary, as `npm ci` installs it (root package.json pins it). */
const PINNED_NODE = join('node_modules', 'node', 'bin', 'node');
/** Runs the shell shim; a real binary, so the shim can `exec` and the container's pid is the program's. */
export const SHELL = '/bin/sh';

let cachedNode: string | undefined;

/**
 * The repo's pinned node binary, found in the nearest `node_modules/node/bin/node` above this file. Never the
 * system's node: images run the Node version the repo pins, whatever PATH says.
 */
export function pinnedNode(start: string = HERE): string {
  if (start === HERE && cachedNode !== undefined) return cachedNode;
  for (let dir = start; ; dir = dirname(dir)) {
    const candidate = join(dir, PINNED_NODE);
    try {
      accessSync(candidate, constants.X_OK);
      if (start === HERE) cachedNode = candidate;
      return candidate;
    } catch {
      if (dirname(dir) === dir) {
        throw new KubeletError(
          'ERR_CATALOGUE_INVALID',
          `no pinned node binary (${PINNED_NODE}) above ${start}; run npm ci at the repo root`,
        );
      }
    }
  }
}

/** The repository root (this file is e2e/kubelet/catalogue/program.ts). */
export const REPO_ROOT = join(HERE, '..', '..', '..');

/** The absolute path of a file of the repository, from a path relative to its root. */
export function repoPath(relative: string): string {
  return join(REPO_ROOT, relative);
}

/** The absolute path of a file in ./programs. */
export function programPath(file: string): string {
  return join(HERE, 'programs', file);
}

/** An image whose entrypoint is a TypeScript program in ./programs, run by the pinned node. */
export function nodeProgram(file: string, defaultArgs: readonly string[] = []): ImageProgram {
  return { command: [pinnedNode(), programPath(file)], defaultArgs };
}

/**
 * A shell image (busybox, curlimages/curl): commands run through image-shim.sh, which execs the host's Debian
 * binary of that name. `defaultProgram` adds curlimages/curl's entrypoint rule (see the shim).
 */
export function shellImageProgram(defaultArgs: readonly string[], defaultProgram?: string): ImageProgram {
  const shim = [SHELL, programPath('image-shim.sh')];
  return {
    command: defaultProgram === undefined ? shim : [...shim, '--default', defaultProgram],
    defaultArgs,
    shim,
  };
}
