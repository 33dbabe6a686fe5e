// Vitest globalSetup for the integration project: one cluster (the full control plane) for the whole run, with the
// repo's CRDs applied.
import type { TestProject } from 'vitest/node';
import { startCluster } from './cluster.ts';
import { findCrdFiles } from './crd-files.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Admin kubeconfig of the shared integration cluster. */
    kubeconfigPath: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const cluster = await startCluster({ name: 'ambit-integration', controlPlane: 'full' });
  try {
    await cluster.applyManifests(await findCrdFiles());
  } catch (err) {
    await cluster.stop();
    throw err;
  }
  project.provide('kubeconfigPath', cluster.kubeconfigPath);
  return () => cluster.stop();
}
