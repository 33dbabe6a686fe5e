// The environment variables the harness reads, parsed once into a typed object.
import { homedir } from 'node:os';
import { join } from 'node:path';

/** Directory holding prebuilt control-plane binaries (see binaries.ts COMPONENTS); skips e2e/components/build.sh. */
export const AMBIT_K8S_BIN = 'AMBIT_K8S_BIN';
/** `1` keeps a stopped cluster's work dir (certs, logs, etcd data) for a post-mortem. */
export const AMBIT_KEEP_CLUSTER = 'AMBIT_KEEP_CLUSTER';
/** Cache root shared with build.sh. @default ~/.cache/ambit */
export const AMBIT_CACHE = 'AMBIT_CACHE';

export interface HarnessEnv {
  /** Prebuilt binaries, or undefined to run build.sh. */
  readonly k8sBinDir: string | undefined;
  readonly keepCluster: boolean;
  readonly cacheDir: string;
}

export function parseHarnessEnv(env: NodeJS.ProcessEnv): HarnessEnv {
  return {
    k8sBinDir: env[AMBIT_K8S_BIN] || undefined,
    keepCluster: env[AMBIT_KEEP_CLUSTER] === '1',
    cacheDir: env[AMBIT_CACHE] || join(homedir(), '.cache', 'ambit'),
  };
}
