// `make codegen` / `make codegen-check`: regenerates (or checks) every generated file of the repo.
//
//   node codegen/src/main.ts          write generated files, delete stale ones
//   node codegen/src/main.ts --check  exit 1 listing every file that regenerating would change
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { generateKindModules } from './generate.ts';
import { generatedKinds } from './kinds.ts';
import { generateProto } from './proto.ts';
import { readUpstreamFiles } from './upstream.ts';

const root = join(import.meta.dirname, '..', '..');
/** Folders whose every file is generated: anything else found there is stale. */
const generatedDirs = ['crds/upstream', 'codegen/out'];

function listFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile())
    .map((e) => relative(root, join(e.parentPath, e.name)));
}

async function generateAll(): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  for (const [target, content] of readUpstreamFiles()) files.set(`crds/upstream/${target}`, content);
  const readCrd = (rel: string) => files.get(`crds/${rel}`) ?? readFileSync(join(root, 'crds', rel), 'utf8');
  for (const [path, content] of await generateKindModules(generatedKinds, readCrd)) files.set(path, content);
  for (const [path, content] of generateProto(join(root, 'codegen', 'proto'))) files.set(path, content);
  return files;
}

async function main(): Promise<number> {
  const check = process.argv.includes('--check');
  const files = await generateAll();
  const existing = generatedDirs.flatMap((d) => listFiles(join(root, d)));
  const stale = existing.filter((f) => !files.has(f));
  const changed = [...files].filter(([path, content]) => {
    const full = join(root, path);
    return !existsSync(full) || readFileSync(full, 'utf8') !== content;
  });
  if (check) {
    if (changed.length === 0 && stale.length === 0) {
      console.log(`codegen: ${files.size} generated files are up to date`);
      return 0;
    }
    for (const [path] of changed) console.error(`codegen: out of date: ${path}`);
    for (const path of stale) console.error(`codegen: stale (no longer generated): ${path}`);
    console.error('codegen: run `make codegen` and commit the result');
    return 1;
  }
  for (const [path, content] of changed) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), content);
  }
  for (const path of stale) rmSync(join(root, path));
  console.log(`codegen: ${changed.length} written, ${stale.length} removed, ${files.size} total`);
  return 0;
}

process.exitCode = await main();
