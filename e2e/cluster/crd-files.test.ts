import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { findCrdFiles, REPO_CRDS_DIR } from './crd-files.ts';

const crd = 'apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: {name: a.b.c}\n';
const vap =
  'apiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingAdmissionPolicyBinding\nmetadata: {name: p}\n';
const cm = 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm}\n';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'crd-files-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('findCrdFiles', () => {
  it('finds CRD and admission-policy yaml recursively, sorted, and skips the rest', async () => {
    await mkdir(join(dir, 'upstream', 'x'), { recursive: true });
    await writeFile(join(dir, 'upstream', 'x', 'crds.yaml'), `${cm}---\n${crd}`);
    await writeFile(join(dir, 'a.yaml'), vap);
    await writeFile(join(dir, 'config.yaml'), cm);
    await writeFile(join(dir, 'other.yml'), crd);
    await writeFile(join(dir, 'empty.yaml'), '');
    expect(await findCrdFiles(dir)).toEqual([join(dir, 'a.yaml'), join(dir, 'upstream', 'x', 'crds.yaml')]);
  });

  it('gives nothing for an empty or missing dir', async () => {
    expect(await findCrdFiles(dir)).toEqual([]);
    expect(await findCrdFiles(join(dir, 'missing'))).toEqual([]);
  });

  it('points at the repo crds/ folder', () => {
    expect(REPO_CRDS_DIR).toBe(join(import.meta.dirname, '..', '..', 'crds'));
  });
});
