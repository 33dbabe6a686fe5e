// Finds the etcd and kube-apiserver binaries: $AMBIT_K8S_BIN, or whatever e2e/components/build.sh builds or reuses.
import { spawn, spawnSync } from 'node:child_process';
import { access, constants } from 'node:fs/promises';
import { join } from 'node:path';
import { AMBIT_K8S_BIN, type HarnessEnv } from './env.ts';
import { ClusterError } from './errors.ts';

export interface Binaries {
  readonly dir: string;
  readonly etcd: string;
  readonly kubeApiserver: string;
}

export const BUILD_SCRIPT = join(import.meta.dirname, '..', 'components', 'build.sh');
const COMPONENTS = ['etcd', 'kube-apiserver'] as const;

function binariesIn(dir: string): Binaries {
  return { dir, etcd: join(dir, 'etcd'), kubeApiserver: join(dir, 'kube-apiserver') };
}

async function assertExecutable(path: string, hint: string): Promise<void> {
  try {
    await access(path, constants.X_OK);
  } catch (err) {
    throw new ClusterError('ERR_CLUSTER_PREREQUISITE', `${path} is missing or not executable; ${hint}`, {
      cause: err,
    });
  }
}

function hasGo(env: NodeJS.ProcessEnv): boolean {
  return spawnSync('go', ['version'], { env, stdio: 'ignore' }).error === undefined;
}

/** Runs build.sh (progress goes to our stderr) and returns the bin dir it prints. */
function runBuild(env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [BUILD_SCRIPT, ...COMPONENTS], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderrTail = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => {
      process.stderr.write(c);
      stderrTail = (stderrTail + c.toString()).slice(-4_000);
    });
    child.once('error', (err) =>
      reject(new ClusterError('ERR_CLUSTER_PREREQUISITE', `cannot run bash: ${err.message}`, { cause: err })),
    );
    child.once('close', (code) => {
      const dir = stdout.trim().split('\n').at(-1);
      if (code === 0 && dir) return resolve(dir);
      if (!hasGo(env)) {
        return reject(
          new ClusterError(
            'ERR_CLUSTER_PREREQUISITE',
            `the go toolchain is not on PATH: it builds etcd and kube-apiserver (install Go, or set ${AMBIT_K8S_BIN} to a dir holding both)`,
          ),
        );
      }
      reject(
        new ClusterError('ERR_CLUSTER_BUILD', `${BUILD_SCRIPT} exited with code ${code}:\n${stderrTail}`),
      );
    });
  });
}

/** Prebuilt binaries from $AMBIT_K8S_BIN, else build (or reuse the cache) via build.sh. */
export async function resolveBinaries(harness: HarnessEnv, env: NodeJS.ProcessEnv): Promise<Binaries> {
  const fromEnv = harness.k8sBinDir !== undefined;
  const bins = binariesIn(harness.k8sBinDir ?? (await runBuild(env)));
  const hint = fromEnv
    ? `${AMBIT_K8S_BIN}=${harness.k8sBinDir} must hold etcd and kube-apiserver`
    : `rerun ${BUILD_SCRIPT}`;
  await assertExecutable(bins.etcd, hint);
  await assertExecutable(bins.kubeApiserver, hint);
  return bins;
}
