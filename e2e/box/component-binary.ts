// Finds a built component the box runs itself (kube-proxy, CoreDNS, the kubelet server): in $AMBIT_K8S_BIN, or built
// (or reused from the cache) by e2e/components/build.sh.
import { access, constants } from 'node:fs/promises';
import { join } from 'node:path';
import { AMBIT_K8S_BIN, ClusterError } from '../cluster/index.ts';
import { BUILD_SCRIPT, runBuild } from '../cluster/binaries.ts';
import { BoxError } from './errors.ts';

/** The components of build.sh that the box itself needs (the control plane's are e2e/cluster's). */
export type BoxComponent = 'kube-proxy' | 'coredns' | 'kubelet-server';

/** build.sh through the cluster harness's runner, its errors in the box's terms. */
async function build(component: BoxComponent, env: NodeJS.ProcessEnv): Promise<string> {
  try {
    return await runBuild(env, [component]);
  } catch (err) {
    if (!(err instanceof ClusterError)) throw err;
    const code = err.code === 'ERR_CLUSTER_BUILD' ? 'ERR_BOX_BUILD' : 'ERR_BOX_PREREQUISITE';
    throw new BoxError(code, err.message, { cause: err });
  }
}

/**
 * The path of the component's executable (kube-proxy v1.34.4, CoreDNS v1.12.4, the kubelet server of
 * e2e/kubelet-server): `$AMBIT_K8S_BIN/<component>` when that is set, else what build.sh built or had cached.
 * Throws `ERR_BOX_PREREQUISITE` or `ERR_BOX_BUILD`.
 */
export async function resolveComponent(
  component: BoxComponent,
  env: NodeJS.ProcessEnv = process.env,
): Promise<string> {
  const fromEnv = env[AMBIT_K8S_BIN] || undefined;
  const bin = join(fromEnv ?? (await build(component, env)), component);
  try {
    await access(bin, constants.X_OK);
  } catch (err) {
    const hint = fromEnv
      ? `${AMBIT_K8S_BIN}=${fromEnv} must hold ${component}`
      : `rerun ${BUILD_SCRIPT} ${component}`;
    throw new BoxError('ERR_BOX_PREREQUISITE', `${bin} is missing or not executable; ${hint}`, {
      cause: err,
    });
  }
  return bin;
}
