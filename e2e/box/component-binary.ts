// Finds a built component the box runs itself (kube-proxy, CoreDNS): in $AMBIT_K8S_BIN, or built (or reused from
// the cache) by e2e/components/build.sh.
import { spawn } from 'node:child_process';
import { access, constants } from 'node:fs/promises';
import { join } from 'node:path';
import { AMBIT_K8S_BIN } from '../cluster/index.ts';
import { BUILD_SCRIPT } from '../cluster/binaries.ts';
import { BoxError } from './errors.ts';

/** The components of build.sh that the box itself needs (the control plane's are e2e/cluster's). */
export type BoxComponent = 'kube-proxy' | 'coredns';

/** Runs `build.sh <component>` (its progress goes to our stderr) and returns the bin dir it prints. */
function build(component: BoxComponent, env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [BUILD_SCRIPT, component], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderrTail = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => {
      process.stderr.write(c);
      stderrTail = (stderrTail + c.toString()).slice(-4_000);
    });
    child.once('error', (err) =>
      reject(new BoxError('ERR_BOX_PREREQUISITE', `cannot run bash: ${err.message}`, { cause: err })),
    );
    child.once('close', (code) => {
      const dir = stdout.trim().split('\n').at(-1);
      if (code === 0 && dir) resolve(dir);
      else
        reject(
          new BoxError(
            'ERR_BOX_BUILD',
            `${BUILD_SCRIPT} ${component} exited with code ${code}:\n${stderrTail}`,
          ),
        );
    });
  });
}

/**
 * The path of the component's executable (kube-proxy v1.34.4, CoreDNS v1.12.4): `$AMBIT_K8S_BIN/<component>`
 * when that is set, else what build.sh built or had cached. Throws `ERR_BOX_PREREQUISITE` or `ERR_BOX_BUILD`.
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
