import { describe, expect, it } from 'vitest';
import { parseUpOptions } from './up-options.ts';

describe('parseUpOptions', () => {
  it('defaults to 2 nodes and reads NODES', () => {
    expect(parseUpOptions({})).toEqual({ nodes: 2 });
    expect(parseUpOptions({ NODES: '' })).toEqual({ nodes: 2 });
    expect(parseUpOptions({ NODES: '3' })).toEqual({ nodes: 3 });
  });

  it('refuses anything but a positive whole number', () => {
    for (const NODES of ['0', '-1', '1.5', 'two', ' 2']) {
      expect(() => parseUpOptions({ NODES })).toThrow(
        expect.objectContaining({ code: 'ERR_BOX_INVALID_OPTION' }),
      );
    }
  });
});
