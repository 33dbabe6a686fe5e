import { describe, expect, it } from 'vitest';
import { netnsMountPoints } from './netns-mount.ts';

describe('netnsMountPoints', () => {
  it('lists /run/netns and the netns files below it, nothing else', () => {
    const mountinfo = [
      '25 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw',
      '610 25 254:0 /run/netns /run/netns rw,relatime shared:300 - ext4 /dev/vda rw',
      '611 610 0:4 net:[4026532178] /run/netns/demo-n0 rw shared:301 - nsfs nsfs rw',
      '612 25 0:4 net:[4026532179] /run/netnsX rw - nsfs nsfs rw',
    ].join('\n');
    expect(netnsMountPoints(mountinfo)).toEqual(['/run/netns', '/run/netns/demo-n0']);
    expect(netnsMountPoints('')).toEqual([]);
  });
});
