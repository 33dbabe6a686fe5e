import type { OutlierDetection } from '@ambit/config';
import { describe, expect, it } from 'vitest';
import {
  EMPTY_OUTLIER_STATE,
  MAX_EJECTION_TIME_MS,
  ejectedAt,
  recordResult,
  type EndpointResult,
  type OutlierState,
} from './outlier.ts';

const od: OutlierDetection = {
  consecutive5xxErrors: 3,
  intervalMs: 10_000,
  baseEjectionTimeMs: 30_000,
  maxEjectionPercent: 50,
};
const pool = ['a', 'b', 'c', 'd'];
const fail: EndpointResult = { status: 503 };
const ok: EndpointResult = { status: 200 };

function record(
  state: OutlierState,
  uid: string,
  results: readonly EndpointResult[],
  now: number,
  config: OutlierDetection | undefined = od,
): OutlierState {
  return results.reduce((s, r) => recordResult(s, config, uid, r, pool, now), state);
}

const isOut = (s: OutlierState, uid: string, now: number): boolean => ejectedAt(s, now).has(uid);

describe('outlier detection', () => {
  it('ejects after N consecutive errors and returns after the base time', () => {
    const twice = record(EMPTY_OUTLIER_STATE, 'a', [fail, fail], 0);
    expect(isOut(twice, 'a', 0)).toBe(false);
    const s = record(twice, 'a', [fail], 1_000);
    expect(isOut(s, 'a', 1_000)).toBe(true);
    expect(isOut(s, 'a', 30_999)).toBe(true);
    expect(isOut(s, 'a', 31_000)).toBe(false);
  });

  it('counts resets and connect failures as errors, and resets the count on any other response', () => {
    const s = record(EMPTY_OUTLIER_STATE, 'a', [{ reset: true }, { connectFailure: true }, fail], 0);
    expect(isOut(s, 'a', 0)).toBe(true);
    const interrupted = record(EMPTY_OUTLIER_STATE, 'a', [fail, fail, { status: 404 }, fail, fail], 0);
    expect(isOut(interrupted, 'a', 0)).toBe(false);
    expect(interrupted.get('a')?.consecutive5xx).toBe(2);
  });

  it('ignores results while ejected', () => {
    const s = record(EMPTY_OUTLIER_STATE, 'a', [fail, fail, fail], 0);
    expect(record(s, 'a', [fail, ok, fail], 5_000)).toBe(s);
  });

  it('never ejects beyond maxEjectionPercent (Envoy: (ejected + 1) / pool ≤ max)', () => {
    let s = record(EMPTY_OUTLIER_STATE, 'a', [fail, fail, fail], 0);
    s = record(s, 'b', [fail, fail, fail], 10_000);
    s = record(s, 'c', [fail, fail, fail], 10_000);
    expect([...ejectedAt(s, 10_000)]).toEqual(['a', 'b']);
    // The refused attempt still reset c's count (Envoy resets it either way).
    expect(s.get('c')?.consecutive5xx).toBe(0);
    // Once a returns (b is out until 40 s), c may go.
    s = record(s, 'c', [fail, fail, fail], 30_000);
    expect([...ejectedAt(s, 30_000)].sort()).toEqual(['b', 'c']);
  });

  it.each([
    [10, 4, false],
    [10, 10, true],
    [100, 1, true],
    [0, 10, false],
  ])('maxEjectionPercent %i over %i endpoints ejects the first: %s', (max, size, ejected) => {
    const members = Array.from({ length: size }, (_, i) => `e${i}`);
    const config = { ...od, maxEjectionPercent: max };
    const s = [fail, fail, fail].reduce(
      (st, r) => recordResult(st, config, 'e0', r, members, 0),
      EMPTY_OUTLIER_STATE,
    );
    expect(isOut(s, 'e0', 0)).toBe(ejected);
  });

  it('ejects for longer each time, and forgives one ejection per healthy interval', () => {
    let s = record(EMPTY_OUTLIER_STATE, 'a', [fail, fail, fail], 0); // 1× base: back at 30 s
    s = record(s, 'a', [fail, fail, fail], 30_000); // 2× base: back at 90 s
    expect(s.get('a')?.ejectedUntil).toBe(90_000);
    s = record(s, 'a', [fail, fail, fail], 95_000); // under one interval healthy: 3×, back at 185 s
    expect(s.get('a')?.ejectedUntil).toBe(185_000);
    s = record(s, 'a', [fail, fail, fail], 210_000); // two intervals healthy: 3 − 2 + 1 = 2×
    expect(s.get('a')).toMatchObject({ multiplier: 2, ejectedUntil: 270_000 });
  });

  it('caps an ejection at max(300 s, base), and the multiplier just past it', () => {
    let s: OutlierState = EMPTY_OUTLIER_STATE;
    let now = 0;
    const durations: number[] = [];
    for (let i = 0; i < 15; i++) {
      s = record(s, 'a', [fail, fail, fail], now);
      const until = s.get('a')?.ejectedUntil ?? now;
      durations.push(until - now);
      now = until;
    }
    expect(durations.slice(0, 4)).toEqual([30_000, 60_000, 90_000, 120_000]);
    expect(Math.max(...durations)).toBe(MAX_EJECTION_TIME_MS);
    expect(durations.at(-1)).toBe(MAX_EJECTION_TIME_MS);
    // 30 s × 11 = 330 s is the first multiple at or past 300 s + 30 s: growth stops there.
    expect(s.get('a')?.multiplier).toBe(11);
  });

  it('does nothing without outlier detection or with consecutive5xxErrors 0', () => {
    expect(recordResult(EMPTY_OUTLIER_STATE, undefined, 'a', fail, ['a'], 0)).toBe(EMPTY_OUTLIER_STATE);
    const off = { ...od, consecutive5xxErrors: 0 };
    expect(record(EMPTY_OUTLIER_STATE, 'a', [fail, fail, fail], 0, off)).toBe(EMPTY_OUTLIER_STATE);
  });

  it('does not copy state for a success with nothing to reset', () => {
    expect(record(EMPTY_OUTLIER_STATE, 'a', [ok, ok], 0)).toBe(EMPTY_OUTLIER_STATE);
  });
});
