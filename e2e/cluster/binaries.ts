// Finds the control-plane binaries: $AMBIT_K8S_BIN, or whatever e2e/components/build.sh builds or reuses.
import { spawn, spawnSync } from 'node:child_process';
import { access, constants } from 'node:fs/promises';
import { join } from 'node:path';
import { AMBIT_K8S_BIN, type HarnessEnv } from './env.ts';
import { ClusterError } from './errors.ts';

/** Paths in the bin dir; only those of the components asked for are checked to exist. */
export interface Binaries {
  readonly dir: string;
  readonly etcd: string;
  readonly kubeApiserver: string;
  readonly kubeControllerManager: string;
  readonly kubeScheduler: string;
}

export const BUILD_SCRIPT = join(import.meta.dirname, '..', 'components', 'build.sh');

/** Everything startCluster may run; build.sh's default list is the same (a unit test keeps them in step). */
export const COMPONENTS = ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler'] as const;
export type Component = (typeof COMPONENTS)[number];

/** The components a control plane of the given kind runs. */
export function componentsFor(controlPlane: 'apiserver' | 'full'): readonly Component[] {
  return controlPlane === 'full' ? COMPONENTS : ['etcd', 'kube-apiserver'];
}

export function binariesIn(dir: string): Binaries {
  return {
    dir,
    etcd: join(dir, 'etcd'),
    kubeApiserver: join(dir, 'kube-apiserver'),
    kubeControllerManager: join(dir, 'kube-controller-manager'),
    kubeScheduler: join(dir, 'kube-scheduler'),
  };
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

/**
 * Runs build.sh for any of its components (progress goes to our stderr) and returns the bin dir it prints.
 * Shared by the control plane and the box (kube-proxy, CoreDNS).
 */
export function runBuild(env: NodeJS.ProcessEnv, components: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [BUILD_SCRIPT, ...components], { env, stdio: ['ignore', 'pipe', 'pipe'] });
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
            `the go toolchain is not on PATH: it builds ${components.join(', ')} (install Go, or set ${AMBIT_K8S_BIN} to a dir holding them)`,
          ),
        );
      }
      reject(
        new ClusterError(
          'ERR_CLUSTER_BUILD',
          `${BUILD_SCRIPT} ${components.join(' ')} exited with code ${code}:\n${stderrTail}`,
        ),
      );
    });
  });
}

/** Prebuilt binaries from $AMBIT_K8S_BIN, else build (or reuse the cache) via build.sh. */
export async function resolveBinaries(
  harness: HarnessEnv,
  env: NodeJS.ProcessEnv,
  components: readonly Component[] = COMPONENTS,
): Promise<Binaries> {
  const fromEnv = harness.k8sBinDir !== undefined;
  const dir = harness.k8sBinDir ?? (await runBuild(env, components));
  const hint = fromEnv
    ? `${AMBIT_K8S_BIN}=${harness.k8sBinDir} must hold ${components.join(', ')}`
    : `rerun ${BUILD_SCRIPT} ${components.join(' ')}`;
  for (const c of components) await assertExecutable(join(dir, c), hint);
  return binariesIn(dir);
}
