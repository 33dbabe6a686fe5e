// `make manifests` / `make manifests-check`: writes (or checks) manifests/ from the render code and the CRDs.
//
//   node operator/src/cli/manifests.ts          write manifests/, delete files it no longer generates
//   node operator/src/cli/manifests.ts --check  exit 1 listing every file that regenerating would change
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { parseAllDocuments } from 'yaml';
import type { KubeObject } from '../render/contract.ts';
import { manifestFiles } from '../render/manifest-files.ts';
import { RELEASE_FACTS } from '../render/release.ts';

const root = join(import.meta.dirname, '..', '..', '..');
const manifestsDir = join(root, 'manifests');
/** The one hand-written file under manifests/. */
const HAND_WRITTEN = new Set(['README.md']);
/** Our CRD, then the vendored Istio and Gateway API ones. */
const CRD_SOURCES = [join(root, 'crds', 'ambit.dev_meshes.yaml'), join(root, 'crds', 'upstream')];

function yamlFiles(path: string): string[] {
  if (path.endsWith('.yaml')) return [path];
  return readdirSync(path, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.yaml'))
    .map((e) => join(e.parentPath, e.name))
    .sort();
}

function readCrds(): KubeObject[] {
  const crds: KubeObject[] = [];
  for (const file of CRD_SOURCES.flatMap(yamlFiles)) {
    for (const doc of parseAllDocuments(readFileSync(file, 'utf8'))) {
      if (doc.errors.length > 0) throw new Error(`${relative(root, file)}: ${doc.errors[0]?.message}`);
      // Our CRD shares definitions through YAML anchors; expand them all.
      const object = doc.toJS({ maxAliasCount: -1 }) as KubeObject | null;
      if (object?.kind === 'CustomResourceDefinition') crds.push(object);
    }
  }
  return crds;
}

function listFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)));
}

function main(): number {
  const check = process.argv.includes('--check');
  const files = manifestFiles(RELEASE_FACTS, readCrds());
  const stale = listFiles(manifestsDir).filter((f) => !files.has(f) && !HAND_WRITTEN.has(f));
  const changed = [...files].filter(([path, content]) => {
    const full = join(manifestsDir, path);
    return !existsSync(full) || readFileSync(full, 'utf8') !== content;
  });
  if (check) {
    if (changed.length === 0 && stale.length === 0) {
      console.log(`manifests: ${files.size} generated files are up to date`);
      return 0;
    }
    for (const [path] of changed) console.error(`manifests: out of date: manifests/${path}`);
    for (const path of stale) console.error(`manifests: stale (no longer generated): manifests/${path}`);
    console.error('manifests: run `make manifests` and commit the result');
    return 1;
  }
  for (const [path, content] of changed) {
    mkdirSync(dirname(join(manifestsDir, path)), { recursive: true });
    writeFileSync(join(manifestsDir, path), content);
  }
  for (const path of stale) rmSync(join(manifestsDir, path));
  console.log(`manifests: ${changed.length} written, ${stale.length} removed, ${files.size} total`);
  return 0;
}

process.exitCode = main();
