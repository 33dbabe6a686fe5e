// busybox: no entrypoint, CMD `sh`; every command runs the host's binary of that name through the shell shim.
import type { CatalogueEntry } from '../catalogue.ts';
import { shellImageProgram } from '../program.ts';

export const busybox = (): CatalogueEntry => ({
  repositories: ['busybox', 'registry.k8s.io/busybox', 'gcr.io/google-containers/busybox'],
  program: shellImageProgram(['sh']),
  description: 'busybox (shell shim over the host binaries)',
});
