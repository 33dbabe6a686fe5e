// Fault injection (VirtualService `fault`): whether this request is delayed and whether it is aborted, each
// drawn on its own with its percentage, as Envoy's fault filter does.
import type { FaultPolicy } from '@ambit/config';
import type { Rand } from './backend-pick.ts';

export interface FaultDecision {
  /** Wait this long before going on (response flag DI). */
  readonly delayMs?: number;
  /** Answer this status instead of forwarding (response flag FI); applied after any delay. */
  readonly abortStatus?: number;
}

/** `percent` of 100 requests, on one uniform draw. 0 never fires, 100 always does. */
function fires(percent: number, rand01: Rand): boolean {
  return rand01() * 100 < percent;
}

/**
 * Decides both faults for one request. Each configured fault takes exactly one draw, delay first, so a seeded
 * generator gives the same sequence whatever the outcome.
 */
export function decideFault(fault: FaultPolicy | undefined, rand01: Rand): FaultDecision {
  if (!fault) return {};
  const delayed = fault.delay !== undefined && fires(fault.delay.percent, rand01);
  const aborted = fault.abort !== undefined && fires(fault.abort.percent, rand01);
  return {
    ...(delayed && fault.delay ? { delayMs: fault.delay.ms } : {}),
    ...(aborted && fault.abort ? { abortStatus: fault.abort.status } : {}),
  };
}
