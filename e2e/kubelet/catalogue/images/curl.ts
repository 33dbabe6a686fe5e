// curlimages/curl (Istio's curl and sleep samples): entrypoint.sh runs `curl` unless given another command.
import type { CatalogueEntry } from '../catalogue.ts';
import { shellImageProgram } from '../program.ts';

export const curl = (): CatalogueEntry => ({
  repositories: ['curlimages/curl'],
  program: shellImageProgram(['curl'], 'curl'),
  description: 'curlimages/curl (shell shim; curl is the host curl)',
});
