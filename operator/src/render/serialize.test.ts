// toYamlDocuments: the same objects give the same bytes, whatever order they and their keys came in.
import { parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import type { KubeObject } from './contract.ts';
import { sortObjects, toYamlDocuments } from './serialize.ts';

const obj = (kind: string, name: string, namespace?: string, extra: object = {}): KubeObject => ({
  apiVersion: 'v1',
  kind,
  metadata: { name, ...(namespace && { namespace }) },
  ...extra,
});

describe('toYamlDocuments', () => {
  it('orders CRDs, the namespace, then kinds in apply order, then namespace and name', () => {
    const objects = [
      obj('Deployment', 'b', 'x'),
      obj('Widget', 'w'),
      obj('Deployment', 'a', 'y'),
      obj('Deployment', 'z', 'x'),
      obj('ServiceAccount', 'a', 'x'),
      obj('Namespace', 'x'),
      obj('CustomResourceDefinition', 'widgets.example'),
    ];
    expect(
      sortObjects(objects).map((o) => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`),
    ).toEqual([
      'CustomResourceDefinition//widgets.example',
      'Namespace//x',
      'ServiceAccount/x/a',
      'Deployment/x/b',
      'Deployment/x/z',
      'Deployment/y/a',
      'Widget//w',
    ]);
  });

  it('sorts keys at every level and keeps array order', () => {
    const yaml = toYamlDocuments([
      obj('ConfigMap', 'c', 'x', { data: { z: '1', a: '2' }, list: ['z', 'a'] }),
    ]);
    expect(yaml).toBe(
      ['---', 'apiVersion: v1', 'data:', '  a: "2"', '  z: "1"', 'kind: ConfigMap', 'list:', '  - z', '  - a']
        .concat(['metadata:', '  name: c', '  namespace: x', ''])
        .join('\n'),
    );
  });

  it('gives the same bytes for the same objects in any order', () => {
    const a = [obj('Service', 's', 'x', { spec: { b: 1, a: 2 } }), obj('Namespace', 'x')];
    const b = [obj('Namespace', 'x'), obj('Service', 's', 'x', { spec: { a: 2, b: 1 } })];
    expect(toYamlDocuments(a)).toBe(toYamlDocuments(b));
  });

  it('neither folds long lines nor writes anchors for repeated values', () => {
    const shared = { description: 'x'.repeat(200) };
    const yaml = toYamlDocuments([obj('Thing', 't', undefined, { one: shared, two: shared })]);
    expect(yaml).toContain(`description: ${'x'.repeat(200)}\n`);
    expect(yaml).not.toMatch(/[&*]a\d/);
  });

  it('round-trips through a YAML parser', () => {
    const objects = [obj('ConfigMap', 'c', 'x', { data: { script: 'line 1\nline 2\n' } })];
    const parsed = parseAllDocuments(toYamlDocuments(objects)).map((d) => d.toJS() as unknown);
    expect(parsed).toEqual(objects);
  });
});
