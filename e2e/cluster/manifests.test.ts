import { describe, expect, it } from 'vitest';
import {
  groupVersionPath,
  isClusterSchemaKind,
  objectPath,
  orderForApply,
  parseManifests,
} from './manifests.ts';

const yaml = `
apiVersion: v1
kind: ConfigMap
metadata: {name: cm, namespace: a}
---
# only a comment
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.com}
---
apiVersion: v1
kind: List
items:
  - {apiVersion: v1, kind: Namespace, metadata: {name: a}}
  - {apiVersion: example.com/v1, kind: Widget, metadata: {name: w}}
`;

describe('parseManifests', () => {
  const docs = parseManifests(yaml, 'f.yaml');

  it('skips empty documents and expands lists', () => {
    expect(docs.map((d) => `${d.object.kind}/${d.object.metadata.name}`)).toEqual([
      'ConfigMap/cm',
      'CustomResourceDefinition/widgets.example.com',
      'Namespace/a',
      'Widget/w',
    ]);
    expect(docs.map((d) => d.source)).toEqual([
      'f.yaml#0',
      'f.yaml#2',
      'f.yaml#3.items[0]',
      'f.yaml#3.items[1]',
    ]);
  });

  it('keeps every field, including x-kubernetes extensions', () => {
    const [doc] = parseManifests(
      'apiVersion: v1\nkind: X\nmetadata: {name: n}\nspec: {x-kubernetes-a: 1}\n',
      's',
    );
    expect(doc?.object.spec).toEqual({ 'x-kubernetes-a': 1 });
  });

  it('rejects documents that are not objects, with the source', () => {
    expect(() => parseManifests('kind: X\n', 'bad.yaml')).toThrow(/bad\.yaml#0: not a kubernetes object/);
    expect(() => parseManifests('apiVersion: v1\nkind: X\nmetadata: {}\n', 'b.yaml')).toThrow(
      /X has no metadata.name/,
    );
    expect(() => parseManifests('a: [\n', 'c.yaml')).toThrow(
      expect.objectContaining({ code: 'ERR_CLUSTER_MANIFEST' }),
    );
  });
});

describe('orderForApply', () => {
  it('puts namespaces, then CRDs first and keeps file order otherwise', () => {
    const ordered = orderForApply(parseManifests(yaml, 'f.yaml')).map((d) => d.object.kind);
    expect(ordered).toEqual(['Namespace', 'CustomResourceDefinition', 'ConfigMap', 'Widget']);
  });
});

describe('objectPath', () => {
  const obj = (apiVersion: string, namespace?: string) => ({
    apiVersion,
    kind: 'K',
    metadata: { name: 'n.x', ...(namespace === undefined ? {} : { namespace }) },
  });

  it('maps core and group resources', () => {
    expect(groupVersionPath('v1')).toBe('/api/v1');
    expect(groupVersionPath('apps/v1')).toBe('/apis/apps/v1');
    expect(objectPath(obj('v1', 'ns'), { name: 'configmaps', namespaced: true })).toBe(
      '/api/v1/namespaces/ns/configmaps/n.x',
    );
    expect(
      objectPath(obj('apiextensions.k8s.io/v1'), { name: 'customresourcedefinitions', namespaced: false }),
    ).toBe('/apis/apiextensions.k8s.io/v1/customresourcedefinitions/n.x');
  });

  it('defaults the namespace of namespaced objects to default', () => {
    expect(objectPath(obj('apps/v1'), { name: 'deployments', namespaced: true })).toBe(
      '/apis/apps/v1/namespaces/default/deployments/n.x',
    );
  });
});

describe('isClusterSchemaKind', () => {
  it('accepts CRDs and admission policies only', () => {
    expect(isClusterSchemaKind('CustomResourceDefinition')).toBe(true);
    expect(isClusterSchemaKind('ValidatingAdmissionPolicy')).toBe(true);
    expect(isClusterSchemaKind('ValidatingAdmissionPolicyBinding')).toBe(true);
    expect(isClusterSchemaKind('ConfigMap')).toBe(false);
  });
});
