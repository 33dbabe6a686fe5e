// Every generated validator compiles against the real upstream schemas and accepts Istio's own sample YAML.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import * as api from '../out/crds/index.ts';
import { generatedKinds } from './kinds.ts';

const samples = join(import.meta.dirname, '..', '..', '..', 'shared', 'upstream', 'istio-1.30.3-samples');

type AnyValidator = api.ObjectValidator<unknown>;
const validators = new Map<string, AnyValidator>(
  Object.entries(api)
    .filter(([name]) => name.startsWith('validate'))
    .map(([, v]) => [(v as AnyValidator).kind, v as AnyValidator]),
);

describe('generated validators', () => {
  it('exist for every generated kind', () => {
    expect([...validators.keys()].sort()).toEqual(generatedKinds.map((k) => k.kind).sort());
  });

  it.each(generatedKinds.map((k) => [k.kind]))(
    '%s compiles; any CEL rule it cannot check says why',
    (kind) => {
      const unchecked = validators.get(kind)!.uncheckedRules();
      for (const rule of unchecked) expect(rule.reason).not.toBe('');
      // Only Gateway API route rules that index lists inside has() are beyond the CEL library (listed, not hidden).
      if (!['HTTPRoute', 'GRPCRoute'].includes(kind)) expect(unchecked).toEqual([]);
    },
  );

  it.each([
    'bookinfo/networking/destination-rule-all.yaml',
    'bookinfo/networking/virtual-service-reviews-90-10.yaml',
    'bookinfo/gateway-api/bookinfo-gateway.yaml',
  ])("accepts Istio's sample %s unchanged", (file) => {
    const docs = parseAllDocuments(readFileSync(join(samples, file), 'utf8'))
      .map((d) => d.toJS() as { kind: string } | null)
      .filter((d) => d !== null);
    expect(docs.length).toBeGreaterThan(0);
    for (const doc of docs) {
      const result = validators.get(doc.kind)!.validate(doc);
      expect(result.ok ? [] : result.issues).toEqual([]);
    }
  });

  it('rejects an AuthorizationPolicy with a misspelt field, naming it', () => {
    const result = api.validateAuthorizationPolicy.validate({
      apiVersion: 'security.istio.io/v1',
      kind: 'AuthorizationPolicy',
      metadata: { name: 'p', namespace: 'default' },
      spec: {
        action: 'ALLOW',
        rules: [{ from: [{ source: { principal: ['cluster.local/ns/default/sa/sleep'] } }] }],
      },
    });
    expect(result.ok).toBe(false);
    if (!result.ok)
      expect(result.issues).toContainEqual({
        field: 'spec.rules[0].from[0].source.principal',
        message: 'unknown field',
      });
  });
});
