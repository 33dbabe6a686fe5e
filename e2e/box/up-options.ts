// Parses up.ts's environment (NODES) into its options, once (no I/O).
import { BoxError } from './errors.ts';
import { DEFAULT_NODE_COUNT } from './plan.ts';

/** Env var: how many nodes `up.ts` starts. @default 2 */
export const NODES_ENV = 'NODES';

export interface UpOptions {
  readonly nodes: number;
}

/** Throws `ERR_BOX_INVALID_OPTION` for anything but a positive whole number (the plan checks the maximum). */
export function parseUpOptions(env: NodeJS.ProcessEnv): UpOptions {
  const text = env[NODES_ENV];
  if (text === undefined || text === '') return { nodes: DEFAULT_NODE_COUNT };
  if (!/^[0-9]+$/.test(text) || Number(text) < 1) {
    throw new BoxError(
      'ERR_BOX_INVALID_OPTION',
      `${NODES_ENV} must be a positive whole number, got '${text}'`,
    );
  }
  return { nodes: Number(text) };
}
