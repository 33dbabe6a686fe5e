// Test-only helpers for the VirtualService and DestinationRule goldens (STYLE §13b): the cluster they translate
// against, and golden files that UPDATE_GOLDEN=1 rewrites. Never imported by production code.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { parse, parseAllDocuments, stringify } from 'yaml';
import type { WorkloadLabels } from '../destination-rule.ts';
import { serviceByHostIn, type ServiceByHost, type ServiceRef } from '../virtual-service.ts';

export const TESTDATA = join(import.meta.dirname, '..', 'testdata');

interface ClusterFile {
  readonly clusterDomain: string;
  readonly services: readonly (ServiceRef & { readonly workloads: readonly WorkloadLabels[] })[];
}

export interface Cluster {
  readonly clusterDomain: string;
  readonly serviceByHost: ServiceByHost;
  workloadsOf(service: string): readonly WorkloadLabels[];
}

/** The cluster in testdata/virtual-service/cluster.yaml (bookinfo and friends). */
export function bookinfoCluster(): Cluster {
  const file = parse(readFileSync(join(TESTDATA, 'virtual-service', 'cluster.yaml'), 'utf8')) as ClusterFile;
  const workloads = new Map(file.services.map((s) => [`${s.namespace}/${s.name}`, s.workloads]));
  return {
    clusterDomain: file.clusterDomain,
    serviceByHost: serviceByHostIn(file.services, file.clusterDomain),
    workloadsOf: (service) => workloads.get(service) ?? [],
  };
}

/** The case names in a testdata folder: each `<name>.in.yaml` has a `<name>.out.yaml`. */
export function goldenCases(folder: string): string[] {
  return readdirSync(join(TESTDATA, folder))
    .filter((f) => f.endsWith('.in.yaml'))
    .map((f) => f.slice(0, -'.in.yaml'.length))
    .sort();
}

/** The YAML documents of `<folder>/<name>.in.yaml`. */
export function readInput<T>(folder: string, name: string): T[] {
  const text = readFileSync(join(TESTDATA, folder, `${name}.in.yaml`), 'utf8');
  return parseAllDocuments(text)
    .map((d) => d.toJS() as T | null)
    .filter((o): o is T => o !== null); // a trailing `---` leaves an empty document
}

/** Compares the results, one YAML document each, with `<folder>/<name>.out.yaml`; UPDATE_GOLDEN=1 rewrites it. */
export function expectGolden(folder: string, name: string, results: readonly unknown[]): void {
  // Messages stay on one line (lineWidth 0) so a diff shows them whole; shared objects are written out in full.
  const options = { lineWidth: 0, aliasDuplicateObjects: false };
  const actual = results.map((r) => `---\n${stringify(r, options)}`).join('');
  const path = join(TESTDATA, folder, `${name}.out.yaml`);
  if (process.env.UPDATE_GOLDEN === '1') writeFileSync(path, actual);
  expect(actual).toBe(readFileSync(path, 'utf8'));
}
