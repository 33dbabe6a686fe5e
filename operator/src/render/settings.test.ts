// The render defaults are the CRD's: a Mesh defaulted by the apiserver and one that never was render alike.
import { validateMesh, type Mesh } from '@ambit/codegen/crds';
import { describe, expect, it } from 'vitest';
import { containerSettings, DEFAULT_LOG_LEVEL, DEFAULT_TRUST_DOMAIN, trustDomain } from './settings.ts';
import { FACTS, mesh } from './testing/fixtures.ts';

describe('settings', () => {
  it('defaults trust domain and log level as the CRD does', () => {
    const result = validateMesh.validate(mesh());
    if (!result.ok) throw new Error('the empty Mesh is valid');
    const { spec } = (result as { value: Mesh }).value;
    expect(spec.trustDomain).toBe(DEFAULT_TRUST_DOMAIN);
    expect(spec.ztunnel?.logLevel).toBe(DEFAULT_LOG_LEVEL);
    expect(trustDomain({})).toBe(trustDomain(spec));
    const defaults = { requests: { cpu: '1' } };
    expect(containerSettings(undefined, 'ztunnel', FACTS, defaults)).toEqual(
      containerSettings(spec.ztunnel, 'ztunnel', FACTS, defaults),
    );
  });

  it('drops unset quantities and empty lists from given resources', () => {
    const settings = containerSettings(
      { resources: { requests: { cpu: '100m', memory: undefined }, limits: {} } },
      'ztunnel',
      FACTS,
      { requests: { cpu: '1' } },
    );
    expect(settings.resources).toEqual({ requests: { cpu: '100m' } });
  });
});
