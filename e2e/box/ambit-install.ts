// Installs Ambit into a box the way the README tells a person to: kubectl applies the install manifests, waits for
// the operator, applies the example Mesh and waits until it is Ready with a ready ztunnel on every node. Nothing
// here starts a proxy: the operator's pods, then its DaemonSets' pods, are run by the box's kubelets from the image
// catalogue (e2e/kubelet/catalogue/images/ambit.ts).
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { BoxError } from './errors.ts';
import { kubectl, kubectlOk } from './kubectl.ts';

/** The repository root (this file is e2e/box/ambit-install.ts): kubectl runs there, as the README's commands do. */
export const REPO_DIR = join(import.meta.dirname, '..', '..');
export const AMBIT_NAMESPACE = 'ambit-system';
export const OPERATOR_DEPLOYMENT = 'ambit-operator';
export const MESH_NAME = 'default';

/** The README's install, relative to the repository root: each step is one kubectl command. */
export const AMBIT_INSTALL_STEPS = {
  install: ['apply', '--server-side', '-k', 'manifests/'],
  operator: ['-n', AMBIT_NAMESPACE, 'rollout', 'status', `deployment/${OPERATOR_DEPLOYMENT}`],
  mesh: ['apply', '-f', 'manifests/examples/mesh.yaml'],
  meshReady: ['wait', '--for=condition=Ready', `mesh/${MESH_NAME}`],
} as const;

export interface AmbitInstallTiming {
  /** `kubectl apply --server-side -k manifests/` (CRDs, ambit-system, the operator and its RBAC). */
  readonly applyMs: number;
  /** From that apply until the operator Deployment is rolled out (both replicas Available). */
  readonly operatorAvailableMs: number;
  /** From applying the Mesh until it is Ready with ztunnels ready on every node. */
  readonly meshReadyMs: number;
}

export interface InstallAmbitOptions {
  /** The admin kubeconfig. */
  readonly kubeconfig: string;
  /** How many nodes must run a ready ztunnel. */
  readonly nodes: number;
  /** For the operator rollout and for the Mesh, each. @default 180_000 */
  readonly timeoutMs?: number;
  readonly onProgress?: (line: string) => void;
}

/** Whether `{.status.ztunnels.ready}/{.status.ztunnels.desired}` says every one of `nodes` nodes has one ready. */
export function ztunnelsReadyOnEveryNode(readyOverDesired: string, nodes: number): boolean {
  const m = /^(\d+)\/(\d+)$/.exec(readyOverDesired.trim());
  return m !== null && Number(m[1]) === nodes && Number(m[2]) === nodes;
}

/** What a person would look at when the install hangs: the pods everywhere and the Mesh's conditions. */
async function diagnosis(kubeconfig: string): Promise<string> {
  const [pods, mesh] = await Promise.all([
    kubectl(kubeconfig, ['get', 'pods', '-A', '-o', 'wide'], { timeoutMs: 15_000 }),
    kubectl(
      kubeconfig,
      [
        'get',
        'mesh',
        MESH_NAME,
        '-o',
        'jsonpath={range .status.conditions[*]}{.type}={.status} {.reason}: {.message}{"\\n"}{end}',
      ],
      { timeoutMs: 15_000 },
    ),
  ]);
  return `\n${pods.stdout || pods.stderr}\nMesh conditions:\n${mesh.stdout || mesh.stderr}`;
}

/**
 * Runs AMBIT_INSTALL_STEPS with the real kubectl and resolves once the Mesh is Ready and
 * `status.ztunnels` is `nodes/nodes`. Throws ERR_BOX_KUBECTL when a command fails, ERR_BOX_AMBIT (with the pods
 * and the Mesh's conditions) when the deadline passes.
 */
export async function installAmbit(o: InstallAmbitOptions): Promise<AmbitInstallTiming> {
  const timeoutMs = o.timeoutMs ?? 180_000;
  const seconds = `--timeout=${Math.ceil(timeoutMs / 1000)}s`;
  const progress = o.onProgress ?? (() => undefined);
  const run = (args: readonly string[], extra: readonly string[] = []) =>
    kubectlOk(o.kubeconfig, [...args, ...extra], { cwd: REPO_DIR, timeoutMs: timeoutMs + 15_000 });
  const withDiagnosis = async <T>(what: string, f: () => Promise<T>): Promise<T> => {
    try {
      return await f();
    } catch (err) {
      throw new BoxError(
        'ERR_BOX_AMBIT',
        `${what}: ${err instanceof Error ? err.message : String(err)}${await diagnosis(o.kubeconfig)}`,
        { cause: err },
      );
    }
  };

  const t0 = performance.now();
  await run(AMBIT_INSTALL_STEPS.install);
  const applyMs = performance.now() - t0;
  progress(`kubectl ${AMBIT_INSTALL_STEPS.install.join(' ')}: done`);
  await withDiagnosis('the operator did not roll out', () => run(AMBIT_INSTALL_STEPS.operator, [seconds]));
  const operatorAvailableMs = performance.now() - t0 - applyMs;
  progress(`operator Available`);

  const t1 = performance.now();
  await run(AMBIT_INSTALL_STEPS.mesh);
  await withDiagnosis('the Mesh did not become Ready', async () => {
    await run(AMBIT_INSTALL_STEPS.meshReady, [seconds]);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const seen = await run([
        'get',
        'mesh',
        MESH_NAME,
        '-o',
        'jsonpath={.status.ztunnels.ready}/{.status.ztunnels.desired}',
      ]);
      if (ztunnelsReadyOnEveryNode(seen, o.nodes)) return;
      if (Date.now() > deadline)
        throw new Error(`ztunnels ready/desired ${seen}, want ${o.nodes}/${o.nodes}`);
      await sleep(250);
    }
  });
  const meshReadyMs = performance.now() - t1;
  progress(`Mesh ${MESH_NAME} Ready, ztunnels ${o.nodes}/${o.nodes}`);
  return { applyMs, operatorAvailableMs, meshReadyMs };
}
