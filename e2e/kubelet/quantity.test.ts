// Unit tests: exact resource quantity parsing.
import { describe, expect, it } from 'vitest';
import { parseQuantity, quantityMilliValue, quantityValue } from './quantity.ts';

describe('quantities', () => {
  it.each([
    ['1', 1n, 1000n],
    ['250m', 1n, 250n],
    ['1.5', 2n, 1500n],
    ['0.1m', 1n, 1n],
    ['128Mi', 134217728n, 134217728000n],
    ['1.5Gi', 1610612736n, 1610612736000n],
    ['2k', 2000n, 2000000n],
    ['1e3', 1000n, 1000000n],
    ['5E-1', 1n, 500n],
    ['100n', 1n, 1n],
    ['0', 0n, 0n],
  ])('%s → value %d, milli %d', (q, value, milli) => {
    expect(quantityValue(parseQuantity(q))).toBe(value);
    expect(quantityMilliValue(parseQuantity(q))).toBe(milli);
  });

  it.each(['', 'abc', '1x', '1.2.3', 'Mi'])('rejects %j', (q) => {
    expect(() => parseQuantity(q)).toThrow(expect.objectContaining({ code: 'ERR_QUANTITY_INVALID' }));
  });
});
