import { describe, expect, it } from 'vitest';
import { parseDuration } from './duration.ts';

describe('parseDuration', () => {
  it('reads Go durations', () => {
    expect(parseDuration('24h')).toBe(86_400_000);
    expect(parseDuration('1h30m')).toBe(5_400_000);
    expect(parseDuration('1.5s')).toBe(1_500);
  });
  it('refuses anything else', () => {
    expect(() => parseDuration('1d')).toThrow(/not a duration/);
    expect(() => parseDuration('')).toThrow();
  });
});
