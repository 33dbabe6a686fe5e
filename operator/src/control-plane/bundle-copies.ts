// Copies of the trust bundle for proxies outside the home namespace. A proxy reads the mesh root through a projected
// volume (render/pod-spec.ts), and a projected configMap source names a ConfigMap of the pod's own namespace, so a
// waypoint or ingress gateway (which runs in its Gateway's namespace) needs `ambit-root-ca` there too, as Istio
// publishes `istio-ca-root-cert` into namespaces. Which copies should exist, and what to write to get there, is
// decided here from plain data; the RootKeeper lists, and writes each step with a precondition (root-store.ts).
//
// A copy is owned by the Mesh (cluster-scoped, so it may own objects in any namespace): deleting the Mesh has the
// garbage collector take every copy with the original, while nothing is written with no Mesh. A ConfigMap of that
// name that does not carry our managed-by label is someone else's: never overwritten nor deleted, only reported.
import type { V1ConfigMap } from '@kubernetes/client-node';
import { GATEWAY_CLASSES, MANAGED_BY, MANAGED_BY_LABEL, WAYPOINT_CLASSES } from '../render/contract.ts';
import {
  ownedMetadata,
  ownerReferences,
  TRUST_BUNDLE_CONFIGMAP,
  TRUST_BUNDLE_KEY,
  type MeshOwner,
} from './root-store.ts';

/** What is read of a Gateway: where it is and whether its class is one of ours. */
export interface GatewayPlacement {
  readonly metadata: { readonly namespace?: string; readonly name?: string };
  readonly spec: { readonly gatewayClassName: string };
}

export interface BundleCopiesInput {
  /** The bundle as published in the home namespace (every root in force, concatenated PEM). */
  readonly bundle: string;
  readonly owner: MeshOwner;
  /** Where the original lives (the keeper's namespace): never planned for here. */
  readonly home: string;
  readonly gateways: readonly GatewayPlacement[];
  /** Every ConfigMap named TRUST_BUNDLE_CONFIGMAP in the cluster, ours or not. */
  readonly live: readonly V1ConfigMap[];
}

/** A write: `update` and `delete` carry the resourceVersion the object was seen at. */
export type BundleCopyWrite =
  | { readonly kind: 'create'; readonly namespace: string; readonly body: V1ConfigMap }
  | { readonly kind: 'update'; readonly namespace: string; readonly body: V1ConfigMap }
  | { readonly kind: 'delete'; readonly namespace: string; readonly resourceVersion: string };

/** `foreign`: a namespace that wants a copy holds a ConfigMap of that name that is not ours; left alone. */
export type BundleCopyStep = BundleCopyWrite | { readonly kind: 'foreign'; readonly namespace: string };

const OUR_CLASSES: readonly string[] = [...WAYPOINT_CLASSES, ...GATEWAY_CLASSES];

/** Namespaces with at least one Gateway of our classes, except `home`, sorted. */
export function bundleCopyNamespaces(gateways: readonly GatewayPlacement[], home: string): string[] {
  const namespaces = new Set<string>();
  for (const g of gateways) {
    const ns = g.metadata.namespace;
    if (ns && ns !== home && OUR_CLASSES.includes(g.spec.gatewayClassName)) namespaces.add(ns);
  }
  return [...namespaces].sort();
}

export function isOurs(cm: V1ConfigMap): boolean {
  return cm.metadata?.labels?.[MANAGED_BY_LABEL] === MANAGED_BY;
}

/** The copy as it should be in `namespace`. */
export function desiredBundleCopy(namespace: string, bundle: string, owner: MeshOwner): V1ConfigMap {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: ownedMetadata(TRUST_BUNDLE_CONFIGMAP, namespace, owner),
    data: { [TRUST_BUNDLE_KEY]: bundle },
  };
}

function upToDate(live: V1ConfigMap, desired: V1ConfigMap, owner: MeshOwner): boolean {
  const owners = live.metadata?.ownerReferences ?? [];
  const labels = live.metadata?.labels ?? {};
  return (
    live.data?.[TRUST_BUNDLE_KEY] === desired.data?.[TRUST_BUNDLE_KEY] &&
    owners.length === 1 &&
    owners[0]?.kind === 'Mesh' &&
    owners[0].uid === owner.uid &&
    Object.entries(desired.metadata?.labels ?? {}).every(([k, v]) => labels[k] === v)
  );
}

/**
 * The steps that make the copies match the Gateways: create where a namespace wants one and has none, update ours
 * where the bundle, owner or labels differ (keeping what else the object holds), delete ours where no Gateway of our
 * classes is left; `foreign` where a namespace wants one but the ConfigMap there is not ours. Sorted by namespace;
 * empty when everything is in place.
 */
export function planBundleCopies(input: BundleCopiesInput): BundleCopyStep[] {
  const { bundle, owner, home } = input;
  const wanted = new Set(bundleCopyNamespaces(input.gateways, home));
  const live = new Map<string, V1ConfigMap>();
  for (const cm of input.live) {
    const ns = cm.metadata?.namespace;
    if (ns && ns !== home && cm.metadata?.name === TRUST_BUNDLE_CONFIGMAP) live.set(ns, cm);
  }
  const steps: BundleCopyStep[] = [];
  for (const namespace of [...new Set([...wanted, ...live.keys()])].sort()) {
    const cm = live.get(namespace);
    const desired = desiredBundleCopy(namespace, bundle, owner);
    if (!wanted.has(namespace)) {
      if (cm && isOurs(cm)) steps.push({ kind: 'delete', namespace, resourceVersion: rv(cm) });
    } else if (!cm) {
      steps.push({ kind: 'create', namespace, body: desired });
    } else if (!isOurs(cm)) {
      steps.push({ kind: 'foreign', namespace });
    } else if (!upToDate(cm, desired, owner)) {
      const meta = cm.metadata ?? {};
      steps.push({
        kind: 'update',
        namespace,
        body: {
          ...cm,
          metadata: {
            ...meta,
            labels: { ...meta.labels, ...desired.metadata?.labels },
            ownerReferences: ownerReferences(owner),
          },
          data: { ...cm.data, ...desired.data },
        },
      });
    }
  }
  return steps;
}

function rv(cm: V1ConfigMap): string {
  return cm.metadata?.resourceVersion ?? '';
}
