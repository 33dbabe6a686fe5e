// Finds the repo's CRD bundle: YAML files under crds/ that define CRDs or ValidatingAdmissionPolicies.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isClusterSchemaKind, parseManifests } from './manifests.ts';

/** The repo's crds/ folder, found relative to this file (e2e/cluster/ → ../../crds). */
export const REPO_CRDS_DIR = join(import.meta.dirname, '..', '..', 'crds');

/**
 * `*.yaml` files under `dir` (recursively, sorted) with at least one CRD or ValidatingAdmissionPolicy* document; a
 * missing or empty dir gives [].
 */
export async function findCrdFiles(dir: string = REPO_CRDS_DIR): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(
    (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return [];
      throw err;
    },
  );
  const yamlFiles = entries
    .filter((e) => e.isFile() && e.name.endsWith('.yaml'))
    .map((e) => join(e.parentPath, e.name))
    .sort();
  const wanted: string[] = [];
  for (const file of yamlFiles) {
    const docs = parseManifests(await readFile(file, 'utf8'), file);
    if (docs.some((d) => isClusterSchemaKind(d.object.kind))) wanted.push(file);
  }
  return wanted;
}
