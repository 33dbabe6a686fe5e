import { describe, expect, it } from 'vitest';
import { boxNetns } from './reap.ts';

describe('boxNetns', () => {
  it("picks the box's netns (nodes and stand-ins) from ip netns list, and no other box's", () => {
    const list = 'abox-pod1 (id: 4)\nabox-node-1 (id: 2)\nabox-node-0\naboxx-node-0\nkpod-0123456789ab\n';
    expect(boxNetns('abox', list)).toEqual(['abox-pod1', 'abox-node-1', 'abox-node-0']);
  });
});
