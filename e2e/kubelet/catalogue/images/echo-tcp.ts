// ambit/echo-tcp: a TCP server that echoes what it receives (PORT or --port, default 9000; --prefix).
import type { CatalogueEntry } from '../catalogue.ts';
import { nodeProgram } from '../program.ts';

export const echoTcp = (): CatalogueEntry => ({
  repositories: ['ambit/echo-tcp'],
  program: nodeProgram('echo-tcp.ts'),
  description: 'ambit/echo-tcp (programs/echo-tcp.ts)',
});
