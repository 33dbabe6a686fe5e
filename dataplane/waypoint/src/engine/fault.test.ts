import { describe, expect, it } from 'vitest';
import { decideFault } from './fault.ts';
import { fixedDraws, mulberry32 } from './testing/mulberry32.ts';

describe('decideFault', () => {
  const both = { delay: { ms: 100, percent: 50 }, abort: { status: 503, percent: 20 } };

  it.each([
    ['no fault', undefined, [0], {}],
    ['delay fires under its percent', both, [0.49, 0.5], { delayMs: 100 }],
    ['abort fires under its percent', both, [0.5, 0.19], { abortStatus: 503 }],
    ['both', both, [0, 0], { delayMs: 100, abortStatus: 503 }],
    ['neither', both, [0.5, 0.2], {}],
    ['0 % never fires', { abort: { status: 500, percent: 0 } }, [0], {}],
    ['100 % always fires', { abort: { status: 500, percent: 100 } }, [0.99999], { abortStatus: 500 }],
  ])('%s', (_name, fault, draws, expected) => {
    expect(decideFault(fault, fixedDraws(...draws))).toEqual(expected);
  });

  it('takes one draw per configured fault, delay first', () => {
    const draws: number[] = [];
    const rand = (): number => {
      draws.push(0.9);
      return 0.9;
    };
    decideFault(both, rand);
    decideFault({ abort: both.abort }, rand);
    expect(draws).toHaveLength(3);
  });

  it('aborts about half the requests at 50 %: within 50 ± 4 % over 2,000', () => {
    const rand = mulberry32(50);
    let aborted = 0;
    for (let i = 0; i < 2000; i++) {
      if (decideFault({ abort: { status: 503, percent: 50 } }, rand).abortStatus !== undefined) aborted++;
    }
    expect(Math.abs(aborted / 20 - 50)).toBeLessThanOrEqual(4);
  });
});
