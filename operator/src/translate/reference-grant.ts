// Gateway API ReferenceGrant: whether an object may refer to one in another namespace (pure). A reference within
// one namespace needs no grant; across namespaces, a grant in the target's namespace must name the referring kind
// and namespace in `from` and the target's kind (and, when set, its name) in `to`.
import type { ReferenceGrant } from '@ambit/codegen/crds';

export interface ReferrerRef {
  readonly group: string;
  readonly kind: string;
  readonly namespace: string;
}

export interface TargetRef {
  /** '' (or 'core') for the core group. */
  readonly group: string;
  readonly kind: string;
  readonly namespace: string;
  readonly name: string;
}

const sameGroup = (a: string, b: string) =>
  a === b || ((a === '' || a === 'core') && (b === '' || b === 'core'));

export function referenceAllowed(
  grants: readonly ReferenceGrant[],
  from: ReferrerRef,
  to: TargetRef,
): boolean {
  if (from.namespace === to.namespace) return true;
  return grants.some(
    (g) =>
      g.metadata.namespace === to.namespace &&
      g.spec.from.some(
        (f) => f.group === from.group && f.kind === from.kind && f.namespace === from.namespace,
      ) &&
      g.spec.to.some(
        (t) =>
          sameGroup(t.group, to.group) && t.kind === to.kind && (t.name === undefined || t.name === to.name),
      ),
  );
}
