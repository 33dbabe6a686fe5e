import { describe, expect, it } from 'vitest';
import { parseUpOptions } from './up-options.ts';

describe('parseUpOptions', () => {
  it('defaults to 2 nodes with Ambit, and reads NODES and AMBIT', () => {
    expect(parseUpOptions({})).toEqual({ nodes: 2, ambit: true });
    expect(parseUpOptions({ NODES: '' })).toEqual({ nodes: 2, ambit: true });
    expect(parseUpOptions({ NODES: '3' })).toEqual({ nodes: 3, ambit: true });
    expect(parseUpOptions({ AMBIT: '0' })).toEqual({ nodes: 2, ambit: false });
    expect(parseUpOptions({ AMBIT: '1', NODES: '1' })).toEqual({ nodes: 1, ambit: true });
  });

  it('refuses anything but a positive whole number of nodes, and AMBIT other than 0 or 1', () => {
    for (const NODES of ['0', '-1', '1.5', 'two', ' 2']) {
      expect(() => parseUpOptions({ NODES })).toThrow(
        expect.objectContaining({ code: 'ERR_BOX_INVALID_OPTION' }),
      );
    }
    expect(() => parseUpOptions({ AMBIT: 'yes' })).toThrow(
      expect.objectContaining({ code: 'ERR_BOX_INVALID_OPTION' }),
    );
  });
});
