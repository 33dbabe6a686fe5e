import { describe, expect, it } from 'vitest';
import { matchesSelector } from './label-selector.ts';

describe('matchesSelector', () => {
  const labels = { team: 'a', env: 'prod' };
  it('matches labels and every expression operator as Kubernetes does', () => {
    expect(matchesSelector({}, labels)).toBe(true);
    expect(matchesSelector({ matchLabels: { team: 'a' } }, labels)).toBe(true);
    expect(matchesSelector({ matchLabels: { team: 'b' } }, labels)).toBe(false);
    expect(
      matchesSelector({ matchExpressions: [{ key: 'env', operator: 'In', values: ['prod'] }] }, labels),
    ).toBe(true);
    expect(matchesSelector({ matchExpressions: [{ key: 'x', operator: 'In', values: [''] }] }, labels)).toBe(
      false,
    );
    expect(
      matchesSelector({ matchExpressions: [{ key: 'env', operator: 'NotIn', values: ['prod'] }] }, labels),
    ).toBe(false);
    expect(
      matchesSelector({ matchExpressions: [{ key: 'x', operator: 'NotIn', values: ['prod'] }] }, labels),
    ).toBe(true);
    expect(matchesSelector({ matchExpressions: [{ key: 'team', operator: 'Exists' }] }, labels)).toBe(true);
    expect(matchesSelector({ matchExpressions: [{ key: 'team', operator: 'DoesNotExist' }] }, labels)).toBe(
      false,
    );
  });
});
