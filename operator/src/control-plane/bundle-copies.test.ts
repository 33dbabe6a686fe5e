// Which namespaces get a copy of the trust bundle, and the writes that get them there: one per namespace with a
// Gateway of our classes, kept equal to the bundle and owned by the Mesh, removed with the last such Gateway; a
// ConfigMap of that name that is not ours is never written.
import type { V1ConfigMap } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import {
  bundleCopyNamespaces,
  desiredBundleCopy,
  planBundleCopies,
  type GatewayPlacement,
} from './bundle-copies.ts';
import { TRUST_BUNDLE_CONFIGMAP, TRUST_BUNDLE_KEY } from './root-store.ts';

const HOME = 'ambit-system';
const owner = { name: 'default', uid: 'mesh-uid' };
const BUNDLE = 'root a\nroot b\n';

const gw = (namespace: string, gatewayClassName: string): GatewayPlacement => ({
  metadata: { namespace },
  spec: { gatewayClassName },
});

/** A copy as the operator writes it, as read back (with a resourceVersion). */
function ours(namespace: string, bundle = BUNDLE, uid = owner.uid, resourceVersion = '7'): V1ConfigMap {
  const cm = desiredBundleCopy(namespace, bundle, { ...owner, uid });
  return { ...cm, metadata: { ...cm.metadata, resourceVersion } };
}

function foreign(namespace: string): V1ConfigMap {
  return {
    metadata: { name: TRUST_BUNDLE_CONFIGMAP, namespace, resourceVersion: '3', labels: { team: 'x' } },
    data: { [TRUST_BUNDLE_KEY]: 'theirs' },
  };
}

const plan = (gateways: GatewayPlacement[], live: V1ConfigMap[], bundle = BUNDLE) =>
  planBundleCopies({ bundle, owner, home: HOME, gateways, live });

describe('bundleCopyNamespaces', () => {
  it('takes the namespaces of Gateways of the four classes, once each, not the home namespace', () => {
    expect(
      bundleCopyNamespaces(
        [
          gw('b', 'istio-waypoint'),
          gw('a', 'ambit-waypoint'),
          gw('a', 'istio'),
          gw('c', 'ambit'),
          gw('d', 'nginx'),
          gw(HOME, 'ambit-waypoint'),
          { metadata: {}, spec: { gatewayClassName: 'istio' } },
        ],
        HOME,
      ),
    ).toEqual(['a', 'b', 'c']);
  });
});

describe('planBundleCopies', () => {
  it('creates a labelled copy owned by the Mesh where a Gateway of ours has none', () => {
    const steps = plan([gw('apps', 'istio-waypoint')], []);
    expect(steps).toEqual([{ kind: 'create', namespace: 'apps', body: expect.any(Object) as unknown }]);
    const [step] = steps;
    if (step?.kind !== 'create') throw new Error('expected create');
    expect(step.body).toEqual({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {
        name: TRUST_BUNDLE_CONFIGMAP,
        namespace: 'apps',
        labels: {
          'app.kubernetes.io/part-of': 'ambit',
          'app.kubernetes.io/managed-by': 'ambit-operator',
          'ambit.dev/owner-kind': 'Mesh',
        },
        ownerReferences: [
          { apiVersion: 'ambit.dev/v1alpha1', kind: 'Mesh', name: 'default', uid: 'mesh-uid' },
        ],
      },
      data: { [TRUST_BUNDLE_KEY]: BUNDLE },
    });
  });

  it('plans nothing when every copy holds the bundle, and never the home namespace', () => {
    expect(
      plan([gw('apps', 'ambit'), gw(HOME, 'ambit-waypoint')], [ours('apps'), ours(HOME, 'other')]),
    ).toEqual([]);
  });

  it('updates a copy to a new bundle (a rotation step) under the resourceVersion it was read at', () => {
    const live = { ...ours('apps', 'root a\n'), data: { [TRUST_BUNDLE_KEY]: 'root a\n', extra: 'kept' } };
    const [step, ...rest] = plan([gw('apps', 'ambit-waypoint')], [live]);
    expect(rest).toEqual([]);
    if (step?.kind !== 'update') throw new Error('expected update');
    expect(step.body.metadata?.resourceVersion).toBe('7');
    expect(step.body.data).toEqual({ [TRUST_BUNDLE_KEY]: BUNDLE, extra: 'kept' });
  });

  it('takes over a copy left by a previous Mesh (new owner), and puts our labels back', () => {
    const stale = ours('apps', BUNDLE, 'old-uid');
    const [step] = plan([gw('apps', 'istio')], [stale]);
    if (step?.kind !== 'update') throw new Error('expected update');
    expect(step.body.metadata?.ownerReferences).toEqual([
      { apiVersion: 'ambit.dev/v1alpha1', kind: 'Mesh', name: 'default', uid: 'mesh-uid' },
    ]);

    const relabelled = ours('apps');
    relabelled.metadata = {
      ...relabelled.metadata,
      labels: { 'app.kubernetes.io/managed-by': 'ambit-operator' },
    };
    const [again] = plan([gw('apps', 'istio')], [relabelled]);
    if (again?.kind !== 'update') throw new Error('expected update');
    expect(again.body.metadata?.labels).toMatchObject({ 'ambit.dev/owner-kind': 'Mesh' });
  });

  it('deletes our copy, under its resourceVersion, once no Gateway of ours is left in the namespace', () => {
    expect(plan([gw('apps', 'nginx')], [ours('apps'), ours('other', BUNDLE, owner.uid, '9')])).toEqual([
      { kind: 'delete', namespace: 'apps', resourceVersion: '7' },
      { kind: 'delete', namespace: 'other', resourceVersion: '9' },
    ]);
  });

  it('never writes a ConfigMap of that name that is not ours: reported where a copy is wanted, else ignored', () => {
    expect(plan([gw('apps', 'istio-waypoint')], [foreign('apps'), foreign('elsewhere')])).toEqual([
      { kind: 'foreign', namespace: 'apps' },
    ]);
  });

  it('handles several namespaces in one plan, sorted', () => {
    const steps = plan(
      [gw('b', 'ambit-waypoint'), gw('a', 'istio'), gw('c', 'ambit')],
      [ours('a'), ours('b', 'old'), foreign('c'), ours('d')],
    );
    expect(steps.map((s) => `${s.kind} ${s.namespace}`)).toEqual(['update b', 'foreign c', 'delete d']);
  });
});
