// Test projects: `unit` runs everywhere in seconds; `integration` runs against a real kube-apiserver and etcd
// started once by the cluster harness (e2e/cluster) for the whole run.
import { defineConfig } from 'vitest/config';

const integrationGlob = '**/*.int.test.ts';

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['**/*.test.ts'],
          exclude: ['**/node_modules/**', integrationGlob],
        },
      },
      {
        test: {
          name: 'integration',
          include: [integrationGlob],
          exclude: ['**/node_modules/**'],
          globalSetup: ['e2e/cluster/vitest-global-setup.ts'],
          // One file at a time: several build network namespaces and compare host snapshots before and after.
          fileParallelism: false,
          testTimeout: 60_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
