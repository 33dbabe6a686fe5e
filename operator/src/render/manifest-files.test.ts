// The files `make manifests` writes besides the install (which manifests-check keeps equal to renderInstall): the
// example Mesh is valid, the kustomization lists the install, and the Argo CD pieces fit together.
import { validateMesh } from '@ambit/codegen/crds';
import { parse, parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { MESH_HEALTH_KEY, MESH_HEALTH_LUA } from './argocd.ts';
import type { KubeObject } from './contract.ts';
import { manifestFiles } from './manifest-files.ts';
import { FACTS } from './testing/fixtures.ts';

const files = manifestFiles(FACTS, []);

function file(path: string): string {
  const text = files.get(path);
  if (text === undefined) throw new Error(`no ${path}`);
  return text;
}

function documents(path: string): KubeObject[] {
  return parseAllDocuments(file(path)).map((d) => d.toJS() as KubeObject);
}

describe('manifestFiles', () => {
  it('writes the install, its kustomization, the example and the Argo CD files', () => {
    expect([...files.keys()].sort()).toEqual([
      'argocd/application.yaml',
      'argocd/argocd-cm-patch.yaml',
      'argocd/health-mesh.lua',
      'examples/mesh.yaml',
      'install.yaml',
      'kustomization.yaml',
    ]);
    expect(parse(file('kustomization.yaml'))).toMatchObject({
      kind: 'Kustomization',
      resources: ['install.yaml'],
    });
    expect(file('install.yaml')).toMatch(/^# Ambit 1\.2\.3: /);
  });

  it('has an example Mesh named default that the CRD accepts', () => {
    const [example] = documents('examples/mesh.yaml');
    expect(example?.metadata.name).toBe('default');
    expect(validateMesh.validate(example).ok).toBe(true);
  });

  it('points Argo CD at manifests/ with pruning, self-heal and server-side apply', () => {
    const [app] = documents('argocd/application.yaml');
    expect(app?.spec).toMatchObject({
      source: { repoURL: 'https://github.com/ambit-mesh/ambit', targetRevision: 'main', path: 'manifests' },
      syncPolicy: { automated: { prune: true, selfHeal: true }, syncOptions: ['ServerSideApply=true'] },
    });
  });

  it('ships the same Mesh health check as a file and in the argocd-cm patch', () => {
    expect(file('argocd/health-mesh.lua')).toBe(MESH_HEALTH_LUA);
    const [patch] = documents('argocd/argocd-cm-patch.yaml');
    expect(patch?.metadata).toEqual({ name: 'argocd-cm', namespace: 'argocd' });
    expect(patch?.data).toEqual({ [MESH_HEALTH_KEY]: MESH_HEALTH_LUA });
  });

  it('has a health check that reads the Ready and Degraded conditions and the generation', () => {
    // No Lua runtime here: check the pieces the contract names are there and the blocks are balanced.
    for (const piece of ['"Ready"', '"Degraded"', '"Healthy"', '"Progressing"', 'obj.metadata.generation']) {
      expect(MESH_HEALTH_LUA).toContain(piece);
    }
    const opened = MESH_HEALTH_LUA.match(/\b(if|for|function)\b/g)?.length ?? 0;
    const elseifs = MESH_HEALTH_LUA.match(/\belseif\b/g)?.length ?? 0;
    const closed = MESH_HEALTH_LUA.match(/\bend\b/g)?.length ?? 0;
    expect(opened - elseifs).toBe(closed);
    expect(MESH_HEALTH_LUA.trimEnd().endsWith('return hs')).toBe(true);
  });
});
