// Writes what the config engine knows onto the Mesh: config version, proxy rejections (NACKs), the warnings of
// objects that are not (fully) enforced, and how many namespaces and workloads are enrolled. Server-side apply of
// only these fields under their own field manager, and only when they changed (STYLE §2).
import type { MeshStatus } from '@ambit/codegen/crds';
import { CustomObjectsApi, PatchStrategy, setHeaderOptions, type KubeConfig } from '@kubernetes/client-node';
import type { V1Namespace } from '@kubernetes/client-node';
import type { Workload } from '@ambit/config';
import { isDeepStrictEqual } from 'node:util';
import { isEnrolled } from '../translate/enrollment.ts';
import type { NackReport } from '../distribute/config-server.ts';
import type { MeshWarning } from '../translate/status.ts';

export const CONFIG_FIELD_MANAGER = 'ambit-config';
/** Rejections kept on the Mesh (the newest), within the CRD's maxItems. */
export const MAX_REJECTIONS = 64;
const MAX_WARNINGS = 256;

export interface MeshConfigStatus {
  /** The version the config server serves; without one (no server yet) `config` is not written. */
  readonly version?: string;
  readonly rejections: readonly NackReport[];
  readonly warnings: readonly MeshWarning[];
  /** What enrollment covers, when known (from the translated config). */
  readonly enrollment?: EnrollmentSummary;
}

export interface EnrollmentSummary {
  readonly namespaces: readonly string[];
  readonly workloads: number;
}

/** Enrolled namespaces (labelled ambient) and enrolled workloads (captured pods), from translation's output. */
export function enrollmentSummary(
  namespaces: readonly V1Namespace[],
  workloads: Iterable<Pick<Workload, 'protocol'>>,
): EnrollmentSummary {
  let count = 0;
  for (const w of workloads) if (w.protocol === 'HBONE') count++;
  return {
    namespaces: namespaces
      .filter((n) => isEnrolled({ labels: {}, hostNetwork: false }, n.metadata?.labels ?? {}))
      .map((n) => n.metadata?.name ?? '')
      .sort(),
    workloads: count,
  };
}

/** The status fields this writer owns (pure). */
export function meshConfigStatusPatch(
  s: MeshConfigStatus,
): Pick<MeshStatus, 'config' | 'warnings' | 'enrolledNamespaces' | 'workloads'> {
  return {
    ...(s.enrollment
      ? { enrolledNamespaces: [...s.enrollment.namespaces], workloads: { enrolled: s.enrollment.workloads } }
      : {}),
    ...(s.version === undefined
      ? {}
      : {
          config: {
            version: s.version,
            rejections: s.rejections
              .slice(-MAX_REJECTIONS)
              .map((r) => ({ proxy: r.proxy, version: r.version, message: r.message })),
          },
        }),
    warnings: s.warnings.slice(0, MAX_WARNINGS).map((w) => ({
      ...(w.group ? { group: w.group } : {}),
      kind: w.kind,
      ...(w.namespace ? { namespace: w.namespace } : {}),
      name: w.name,
      reason: w.reason,
      message: w.message,
    })),
  };
}

export class MeshConfigStatusWriter {
  readonly #api: CustomObjectsApi;
  readonly #meshName: string;
  #written: unknown;

  constructor(kc: KubeConfig, meshName = 'default') {
    this.#api = kc.makeApiClient(CustomObjectsApi);
    this.#meshName = meshName;
  }

  /** Applies the fields if they differ from what this writer last wrote; returns whether it wrote. */
  async write(s: MeshConfigStatus): Promise<boolean> {
    const status = meshConfigStatusPatch(s);
    if (isDeepStrictEqual(status, this.#written)) return false;
    await this.#api.patchClusterCustomObjectStatus(
      {
        group: 'ambit.dev',
        version: 'v1alpha1',
        plural: 'meshes',
        name: this.#meshName,
        body: { apiVersion: 'ambit.dev/v1alpha1', kind: 'Mesh', metadata: { name: this.#meshName }, status },
        fieldManager: CONFIG_FIELD_MANAGER,
        force: true,
      },
      setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply),
    );
    this.#written = status;
    return true;
  }
}
