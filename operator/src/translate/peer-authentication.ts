// Resolves the effective mTLS mode of a workload from Istio PeerAuthentication objects (DESIGN §7), as pure data.
//
// Resolution, in order:
//  1. Candidates: the mesh-wide policy (root namespace, no selector), the namespace-wide one (the workload's
//     namespace, no selector), and the workload one (its namespace, a selector matching its labels). Where several
//     qualify at one level, the oldest wins (then the name), as in Istio.
//  2. A root-namespace policy with a selector is ignored (Istio's rule); `peerAuthenticationIssues` reports it.
//  3. Start PERMISSIVE; each level that is not UNSET replaces the mode. DISABLE acts as PERMISSIVE in ambient.
//  4. portLevelMtls of the workload policy overrides per pod port; UNSET there inherits the workload's mode.
import type { PeerAuthentication } from '@ambit/codegen/crds';
import type { MtlsMode, MtlsPolicy, SourceRef } from '@ambit/config';

export interface EffectiveMtls extends MtlsPolicy {
  /** The policies that decided it, outermost first. */
  readonly sources: readonly SourceRef[];
}

export interface WorkloadIdentity {
  readonly namespace: string;
  readonly labels: Readonly<Record<string, string>>;
}

type Mode = NonNullable<NonNullable<NonNullable<PeerAuthentication['spec']>['mtls']>['mode']>;

function selectorOf(pa: PeerAuthentication): Record<string, string | undefined> | undefined {
  const labels = pa.spec?.selector?.matchLabels;
  return labels && Object.keys(labels).length > 0 ? labels : undefined;
}

function selects(
  selector: Record<string, string | undefined>,
  labels: Readonly<Record<string, string>>,
): boolean {
  return Object.entries(selector).every(([k, v]) => labels[k] === v);
}

function oldest(pas: readonly PeerAuthentication[]): PeerAuthentication | undefined {
  return [...pas].sort((a, b) => {
    const ta = a.metadata.creationTimestamp ?? '';
    const tb = b.metadata.creationTimestamp ?? '';
    return ta !== tb ? (ta < tb ? -1 : 1) : (a.metadata.name ?? '').localeCompare(b.metadata.name ?? '');
  })[0];
}

function resolve(mode: Mode | undefined, inherited: MtlsMode): MtlsMode {
  if (mode === undefined || mode === 'UNSET') return inherited;
  return mode === 'STRICT' ? 'STRICT' : 'PERMISSIVE';
}

function sourceOf(pa: PeerAuthentication): SourceRef {
  return {
    group: 'security.istio.io',
    kind: 'PeerAuthentication',
    namespace: pa.metadata.namespace ?? '',
    name: pa.metadata.name ?? '',
  };
}

export function effectiveMtls(
  workload: WorkloadIdentity,
  pas: readonly PeerAuthentication[],
  rootNamespace: string,
): EffectiveMtls {
  const inNs = (ns: string) => pas.filter((p) => p.metadata.namespace === ns);
  const mesh = oldest(inNs(rootNamespace).filter((p) => !selectorOf(p)));
  const namespace =
    workload.namespace === rootNamespace
      ? undefined
      : oldest(inNs(workload.namespace).filter((p) => !selectorOf(p)));
  const own = oldest(
    workload.namespace === rootNamespace
      ? []
      : inNs(workload.namespace).filter((p) => {
          const s = selectorOf(p);
          return s !== undefined && selects(s, workload.labels);
        }),
  );
  let mode: MtlsMode = 'PERMISSIVE';
  const sources: SourceRef[] = [];
  for (const pa of [mesh, namespace, own]) {
    if (!pa) continue;
    mode = resolve(pa.spec?.mtls?.mode, mode);
    sources.push(sourceOf(pa));
  }
  const ports: Record<number, MtlsMode> = {};
  for (const [port, setting] of Object.entries(own?.spec?.portLevelMtls ?? {})) {
    const portMode = resolve(setting?.mode, mode);
    if (portMode !== mode) ports[Number(port)] = portMode;
  }
  return { mode, ports, sources };
}

/** The mode that applies to one pod port. */
export function mtlsModeForPort(m: EffectiveMtls, port: number): MtlsMode {
  return m.ports[port] ?? m.mode;
}

/** Why a PeerAuthentication has no (or less) effect, for its status and the Mesh warnings. */
export function peerAuthenticationIssues(pa: PeerAuthentication, rootNamespace: string): string[] {
  const issues: string[] = [];
  if (pa.metadata.namespace === rootNamespace && selectorOf(pa)) {
    issues.push(`a PeerAuthentication with a selector in the root namespace (${rootNamespace}) is ignored`);
  }
  if (!selectorOf(pa) && Object.keys(pa.spec?.portLevelMtls ?? {}).length > 0) {
    issues.push('portLevelMtls applies only to a PeerAuthentication with a selector; it is ignored here');
  }
  return issues;
}
