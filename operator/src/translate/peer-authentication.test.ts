import type { PeerAuthentication } from '@ambit/codegen/crds';
import { describe, expect, it } from 'vitest';
import { effectiveMtls, mtlsModeForPort, peerAuthenticationIssues } from './peer-authentication.ts';

type Spec = NonNullable<PeerAuthentication['spec']>;
const root = 'istio-system';

function pa(
  namespace: string,
  name: string,
  spec: Spec,
  created = '2026-01-01T00:00:00Z',
): PeerAuthentication {
  return {
    apiVersion: 'security.istio.io/v1',
    kind: 'PeerAuthentication',
    metadata: { namespace, name, creationTimestamp: created },
    spec,
  };
}

const web = { namespace: 'shop', labels: { app: 'web' } };
const strict: Spec = { mtls: { mode: 'STRICT' } };
const permissive: Spec = { mtls: { mode: 'PERMISSIVE' } };

describe('effectiveMtls', () => {
  it.each<[string, PeerAuthentication[], string]>([
    ['no policy: PERMISSIVE', [], 'PERMISSIVE'],
    ['mesh STRICT', [pa(root, 'default', strict)], 'STRICT'],
    [
      'namespace PERMISSIVE overrides mesh STRICT',
      [pa(root, 'default', strict), pa('shop', 'ns', permissive)],
      'PERMISSIVE',
    ],
    [
      'namespace UNSET inherits mesh STRICT',
      [pa(root, 'default', strict), pa('shop', 'ns', { mtls: { mode: 'UNSET' } })],
      'STRICT',
    ],
    [
      'workload STRICT overrides namespace PERMISSIVE',
      [
        pa('shop', 'ns', permissive),
        pa('shop', 'w', { ...strict, selector: { matchLabels: { app: 'web' } } }),
      ],
      'STRICT',
    ],
    [
      'a selector that does not match is ignored',
      [pa('shop', 'w', { ...strict, selector: { matchLabels: { app: 'db' } } })],
      'PERMISSIVE',
    ],
    [
      'DISABLE acts as PERMISSIVE',
      [pa(root, 'default', strict), pa('shop', 'ns', { mtls: { mode: 'DISABLE' } })],
      'PERMISSIVE',
    ],
    [
      'a root-namespace policy with a selector is ignored',
      [pa(root, 'sel', { ...strict, selector: { matchLabels: { app: 'web' } } })],
      'PERMISSIVE',
    ],
    ['another namespace does not apply', [pa('other', 'ns', strict)], 'PERMISSIVE'],
    [
      'the oldest namespace policy wins',
      [pa('shop', 'b', strict, '2026-02-01T00:00:00Z'), pa('shop', 'a', permissive, '2026-03-01T00:00:00Z')],
      'STRICT',
    ],
  ])('%s', (_name, pas, mode) => {
    expect(effectiveMtls(web, pas, root).mode).toBe(mode);
  });

  it('applies portLevelMtls of the workload policy per pod port', () => {
    const m = effectiveMtls(
      web,
      [
        pa(root, 'default', strict),
        pa('shop', 'w', {
          selector: { matchLabels: { app: 'web' } },
          portLevelMtls: {
            '8080': { mode: 'PERMISSIVE' },
            '9090': { mode: 'UNSET' },
            '7070': { mode: 'STRICT' },
          },
        }),
      ],
      root,
    );
    expect(m.mode).toBe('STRICT');
    expect(m.ports).toEqual({ 8080: 'PERMISSIVE' });
    expect(mtlsModeForPort(m, 8080)).toBe('PERMISSIVE');
    expect(mtlsModeForPort(m, 9090)).toBe('STRICT');
    expect(m.sources.map((s) => s.name)).toEqual(['default', 'w']);
  });

  it('applies the mesh policy to workloads in the root namespace', () => {
    expect(effectiveMtls({ namespace: root, labels: {} }, [pa(root, 'default', strict)], root).mode).toBe(
      'STRICT',
    );
  });
});

describe('peerAuthenticationIssues', () => {
  it('reports a root-namespace selector and portLevelMtls without a selector', () => {
    expect(
      peerAuthenticationIssues(pa(root, 's', { ...strict, selector: { matchLabels: { a: 'b' } } }), root),
    ).toEqual(['a PeerAuthentication with a selector in the root namespace (istio-system) is ignored']);
    expect(
      peerAuthenticationIssues(pa('shop', 'p', { portLevelMtls: { '80': { mode: 'STRICT' } } }), root),
    ).toEqual(['portLevelMtls applies only to a PeerAuthentication with a selector; it is ignored here']);
    expect(peerAuthenticationIssues(pa('shop', 'ok', strict), root)).toEqual([]);
  });
});
