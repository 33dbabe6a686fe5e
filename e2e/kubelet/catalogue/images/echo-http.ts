// ambit/echo-http: an HTTP server answering every request with JSON about it (PORT or --port, default 8080).
import type { CatalogueEntry } from '../catalogue.ts';
import { nodeProgram } from '../program.ts';

export const echoHttp = (): CatalogueEntry => ({
  repositories: ['ambit/echo-http'],
  program: nodeProgram('echo-http.ts'),
  description: 'ambit/echo-http (programs/echo-http.ts)',
});
