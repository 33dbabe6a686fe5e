import { describe, expect, it } from 'vitest';
import { conditionsToWrite } from './object-status.ts';

const accepted = {
  type: 'ZtunnelAccepted',
  status: 'True' as const,
  reason: 'Accepted' as const,
  message: 'enforced by ztunnel',
};

describe('conditionsToWrite', () => {
  it('stamps a new condition with now', () => {
    expect(conditionsToWrite([accepted], undefined, 't2')).toEqual([
      { ...accepted, lastTransitionTime: 't2' },
    ]);
  });

  it('keeps the transition time while the status stays the same, even if the message changes', () => {
    const previous = [{ ...accepted, lastTransitionTime: 't1' }];
    expect(
      conditionsToWrite([{ ...accepted, message: 'other' }], previous, 't2')[0]?.lastTransitionTime,
    ).toBe('t1');
  });

  it('moves the transition time when the status flips', () => {
    const previous = [{ ...accepted, lastTransitionTime: 't1' }];
    const flipped = { ...accepted, status: 'False' as const, reason: 'UnsupportedValue' as const };
    expect(conditionsToWrite([flipped], previous, 't2')[0]?.lastTransitionTime).toBe('t2');
  });
});
