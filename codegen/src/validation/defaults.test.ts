import { describe, expect, it } from 'vitest';
import { applyDefaults } from './defaults.ts';

const schema = {
  properties: {
    a: { default: {}, properties: { b: { default: 1 }, c: { default: [1] } } },
    list: { items: { properties: { d: { default: 'x' } } } },
    map: { additionalProperties: { properties: { e: { default: true } } } },
  },
};

describe('applyDefaults', () => {
  it('fills missing fields and continues inside defaulted objects', () => {
    expect(applyDefaults({}, schema)).toEqual({ a: { b: 1, c: [1] } });
  });

  it('keeps values that are set and defaults inside lists and maps', () => {
    expect(applyDefaults({ a: { b: 2 }, list: [{}, { d: 'y' }], map: { k: {} } }, schema)).toEqual({
      a: { b: 2, c: [1] },
      list: [{ d: 'x' }, { d: 'y' }],
      map: { k: { e: true } },
    });
  });

  it('copies defaults so objects never share them', () => {
    const one = applyDefaults({}, schema) as { a: { c: number[] } };
    const two = applyDefaults({}, schema) as { a: { c: number[] } };
    one.a.c.push(2);
    expect(two.a.c).toEqual([1]);
  });
});
