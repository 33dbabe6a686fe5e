// The Gateway API precedence comparators on their own: each criterion, and that it only counts on a tie of the
// ones before it.
import { describe, expect, it } from 'vitest';
import {
  byPrecedence,
  compareGrpcSpecificity,
  compareHttpSpecificity,
  compareOrigin,
  type GrpcSpecificity,
  type HttpSpecificity,
  type MatchOrigin,
  type Ranked,
} from './route-precedence.ts';

function http(s: Partial<HttpSpecificity>): HttpSpecificity {
  return { pathType: 'PathPrefix', pathLength: 1, method: false, headers: 0, queryParams: 0, ...s };
}

function grpc(s: Partial<GrpcSpecificity>): GrpcSpecificity {
  return { methodType: 'Exact', serviceLength: 0, methodLength: 0, headers: 0, ...s };
}

function origin(o: Partial<MatchOrigin>): MatchOrigin {
  return { namespace: 'default', name: 'r', ruleIndex: 0, matchIndex: 0, ...o };
}

describe('compareHttpSpecificity', () => {
  it.each<[string, HttpSpecificity, HttpSpecificity]>([
    [
      'exact beats a longer prefix',
      http({ pathType: 'Exact', pathLength: 2 }),
      http({ pathType: 'PathPrefix', pathLength: 20 }),
    ],
    [
      'a prefix beats a longer regex',
      http({ pathLength: 2 }),
      http({ pathType: 'RegularExpression', pathLength: 20 }),
    ],
    ['a longer prefix beats a shorter one', http({ pathLength: 8 }), http({ pathLength: 4, method: true })],
    ['a method beats more headers', http({ method: true }), http({ headers: 3 })],
    ['more headers beat more query params', http({ headers: 2 }), http({ headers: 1, queryParams: 5 })],
    ['more query params beat fewer', http({ queryParams: 2 }), http({ queryParams: 1 })],
    [
      'a longer regex beats a shorter one',
      http({ pathType: 'RegularExpression', pathLength: 9 }),
      http({ pathType: 'RegularExpression', pathLength: 3 }),
    ],
  ])('%s', (_name, first, second) => {
    expect(compareHttpSpecificity(first, second)).toBeLessThan(0);
    expect(compareHttpSpecificity(second, first)).toBeGreaterThan(0);
  });

  it('is a tie when every criterion is equal', () => {
    expect(compareHttpSpecificity(http({ headers: 1 }), http({ headers: 1 }))).toBe(0);
  });
});

describe('compareGrpcSpecificity', () => {
  it.each<[string, GrpcSpecificity, GrpcSpecificity]>([
    [
      'exact beats a longer regex',
      grpc({ serviceLength: 3 }),
      grpc({ methodType: 'RegularExpression', serviceLength: 30 }),
    ],
    [
      'a regex beats no method',
      grpc({ methodType: 'RegularExpression' }),
      grpc({ methodType: 'None', headers: 2 }),
    ],
    [
      'a longer service beats a longer method',
      grpc({ serviceLength: 10 }),
      grpc({ serviceLength: 5, methodLength: 30 }),
    ],
    ['a longer method beats more headers', grpc({ methodLength: 4 }), grpc({ methodLength: 3, headers: 4 })],
    ['more headers beat fewer', grpc({ headers: 1 }), grpc({})],
  ])('%s', (_name, first, second) => {
    expect(compareGrpcSpecificity(first, second)).toBeLessThan(0);
    expect(compareGrpcSpecificity(second, first)).toBeGreaterThan(0);
  });
});

describe('compareOrigin', () => {
  it.each<[string, MatchOrigin, MatchOrigin]>([
    [
      'the older route beats a name earlier in the alphabet',
      origin({ name: 'z', creationTimestamp: '2025-01-01T00:00:00Z' }),
      origin({ name: 'a', creationTimestamp: '2025-01-02T00:00:00Z' }),
    ],
    [
      'timestamps compare as times, not text',
      origin({ name: 'z', creationTimestamp: '2025-01-01T00:00:00.5Z' }),
      origin({ name: 'a', creationTimestamp: '2025-01-01T00:00:01Z' }),
    ],
    [
      'a route without a timestamp counts as the newest',
      origin({ name: 'z', creationTimestamp: '2025-01-01T00:00:00Z' }),
      origin({ name: 'a' }),
    ],
    ['then <namespace>/<name>', origin({ namespace: 'a', name: 'z' }), origin({ namespace: 'b', name: 'a' })],
    ['then rule order', origin({ ruleIndex: 1, matchIndex: 5 }), origin({ ruleIndex: 2 })],
    ['then match order', origin({ matchIndex: 0 }), origin({ matchIndex: 1 })],
  ])('%s', (_name, first, second) => {
    expect(compareOrigin(first, second)).toBeLessThan(0);
    expect(compareOrigin(second, first)).toBeGreaterThan(0);
  });
});

describe('byPrecedence', () => {
  it('orders by specificity first and by origin only on a tie', () => {
    const ranked = (
      name: string,
      s: Partial<HttpSpecificity>,
      created: string,
    ): Ranked<HttpSpecificity> & { name: string } => ({
      name,
      specificity: http(s),
      origin: origin({ name, creationTimestamp: created }),
    });
    const list = [
      ranked('old-short', { pathLength: 1 }, '2025-01-01T00:00:00Z'),
      ranked('new-long', { pathLength: 5 }, '2025-03-01T00:00:00Z'),
      ranked('new-exact', { pathType: 'Exact', pathLength: 1 }, '2025-03-01T00:00:00Z'),
      ranked('new-short', { pathLength: 1 }, '2025-02-01T00:00:00Z'),
    ];
    expect(list.toSorted(byPrecedence(compareHttpSpecificity)).map((r) => r.name)).toEqual([
      'new-exact',
      'new-long',
      'old-short',
      'new-short',
    ]);
  });
});
