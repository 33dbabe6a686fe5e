// Parses up.ts's environment (NODES, AMBIT) into its options, once (no I/O).
import { BoxError } from './errors.ts';
import { DEFAULT_NODE_COUNT } from './plan.ts';

/** Env var: how many nodes `up.ts` starts. @default 2 */
export const NODES_ENV = 'NODES';
/** Env var: `0` starts the box without installing Ambit. @default 1 */
export const AMBIT_ENV = 'AMBIT';

export interface UpOptions {
  readonly nodes: number;
  /** Install Ambit (the operator, then the example Mesh) once the box is up. */
  readonly ambit: boolean;
}

/** Throws `ERR_BOX_INVALID_OPTION` for anything but a positive whole number (the plan checks the maximum). */
export function parseUpOptions(env: NodeJS.ProcessEnv): UpOptions {
  const text = env[NODES_ENV];
  const ambitText = env[AMBIT_ENV] ?? '';
  if (!['', '0', '1'].includes(ambitText)) {
    throw new BoxError('ERR_BOX_INVALID_OPTION', `${AMBIT_ENV} must be 0 or 1, got '${ambitText}'`);
  }
  const ambit = ambitText !== '0';
  if (text === undefined || text === '') return { nodes: DEFAULT_NODE_COUNT, ambit };
  if (!/^[0-9]+$/.test(text) || Number(text) < 1) {
    throw new BoxError(
      'ERR_BOX_INVALID_OPTION',
      `${NODES_ENV} must be a positive whole number, got '${text}'`,
    );
  }
  return { nodes: Number(text), ambit };
}
