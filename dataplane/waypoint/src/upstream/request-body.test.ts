import { PassThrough } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { describe, expect, it } from 'vitest';
import { RequestBody } from './request-body.ts';

describe('RequestBody', () => {
  it('replays a body within the bound to a second try', async () => {
    const source = new PassThrough();
    const body = new RequestBody(source, 1024);
    const first = buffer(body.open());
    source.write('hello ');
    source.end('world');
    expect((await first).toString()).toBe('hello world');
    expect(body.replayable).toBe(true);
    expect((await buffer(body.open())).toString()).toBe('hello world');
    expect(body.complete).toBe(true);
    expect(body.bytes).toBe(11);
  });

  it('streams a body past the bound once and is then not replayable', async () => {
    const source = new PassThrough();
    const body = new RequestBody(source, 4);
    const first = buffer(body.open());
    source.write('0123456789');
    source.end('abc');
    expect((await first).toString()).toBe('0123456789abc');
    expect(body.replayable).toBe(false);
    expect(() => body.open()).toThrow('not replayable');
  });

  it('lets a retry start before the caller finished sending', async () => {
    const source = new PassThrough();
    const body = new RequestBody(source, 1024);
    const first = body.open();
    source.write('part1');
    await new Promise((r) => first.once('data', r));
    first.destroy();
    const second = buffer(body.open());
    source.end('part2');
    expect((await second).toString()).toBe('part1part2');
  });
});
