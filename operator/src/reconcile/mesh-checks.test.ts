import type { Mesh } from '@ambit/codegen/crds';
import { describe, expect, it } from 'vitest';
import { checkMesh } from './mesh-checks.ts';

function mesh(spec: Mesh['spec'], name = 'default'): Mesh {
  return { apiVersion: 'ambit.dev/v1alpha1', kind: 'Mesh', metadata: { name }, spec };
}
const none = new Map<string, string[]>();

describe('checkMesh', () => {
  it('accepts the defaults', () => {
    expect(checkMesh({ mesh: mesh({}), secrets: none })).toBeUndefined();
  });

  it('refuses any Mesh but default', () => {
    expect(checkMesh({ mesh: mesh({}, 'other'), secrets: none })?.reason).toBe('NotDefault');
  });

  it.each(['.', 'a..b', '-x.local', 'x.'])('refuses the trust domain %j, naming the field', (td) => {
    const v = checkMesh({ mesh: mesh({ trustDomain: td }), secrets: none });
    expect(v?.reason).toBe('InvalidTrustDomain');
    expect(v?.message).toContain('spec.trustDomain');
  });

  it('names the missing image pull secret by index', () => {
    const v = checkMesh({
      mesh: mesh({ imagePullSecrets: [{ name: 'ok' }, { name: 'gone' }] }),
      secrets: new Map([['ok', ['.dockerconfigjson']]]),
    });
    expect(v).toEqual({
      reason: 'ImagePullSecretNotFound',
      message: 'spec.imagePullSecrets[1].name: Secret "ambit-system/gone" not found',
    });
  });

  it('wants a root secret with tls.crt and tls.key', () => {
    const m = mesh({ ca: { rootSecret: { name: 'root' } } });
    expect(checkMesh({ mesh: m, secrets: none })?.reason).toBe('RootSecretNotFound');
    expect(checkMesh({ mesh: m, secrets: new Map([['root', ['tls.crt']]]) })?.message).toContain(
      'no tls.key',
    );
    expect(checkMesh({ mesh: m, secrets: new Map([['root', ['tls.crt', 'tls.key']]]) })).toBeUndefined();
  });
});
