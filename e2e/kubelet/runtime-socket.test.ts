// Unit tests: the runtime socket's routes (pure) and one round trip over a real unix socket.
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { KubeletError } from './errors.ts';
import { answerRuntimeRequest, serveRuntimeSocket, type RuntimeView } from './runtime-socket.ts';

const view: RuntimeView = {
  pod: (ns, name) =>
    ns === 'default' && name === 'web'
      ? { ok: true, value: { uid: 'u-1', netns: '/run/netns/box-p1' } }
      : { ok: false, status: 404, message: `pod "${name}" does not exist` },
  container: (_ns, _pod, c) =>
    c === 'app'
      ? { ok: true, value: { id: 'ambit-box://a', pid: 42, env: ['A=1'] } }
      : { ok: false, status: 400, message: `container ${c} in pod web is not running` },
  log: (_ns, _pod, c, previous) => ({
    ok: true,
    value: { id: `ambit-box://${c}`, path: `/logs/${c}/${previous ? 0 : 1}.log` },
  }),
  running: (id) => id === 'ambit-box://a',
};

describe('answerRuntimeRequest', () => {
  it('answers the four routes', () => {
    expect(answerRuntimeRequest(view, 'GET', '/v1/pods/default/web')).toEqual({
      status: 200,
      body: { uid: 'u-1', netns: '/run/netns/box-p1' },
    });
    expect(answerRuntimeRequest(view, 'GET', '/v1/pods/default/web/containers/app')).toEqual({
      status: 200,
      body: { id: 'ambit-box://a', pid: 42, env: ['A=1'] },
    });
    expect(
      answerRuntimeRequest(view, 'GET', '/v1/pods/default/web/containers/app/log?previous=true'),
    ).toEqual({
      status: 200,
      body: { id: 'ambit-box://app', path: '/logs/app/0.log' },
    });
    expect(answerRuntimeRequest(view, 'GET', '/v1/pods/default/web/containers/app/log')).toMatchObject({
      body: { path: '/logs/app/1.log' },
    });
    // Container IDs carry `://`: the Go side escapes each path segment.
    expect(answerRuntimeRequest(view, 'GET', '/v1/containers/ambit-box:%2F%2Fa')).toEqual({
      status: 200,
      body: { running: true },
    });
    expect(answerRuntimeRequest(view, 'GET', '/v1/containers/ambit-box:%2F%2Fb')).toEqual({
      status: 200,
      body: { running: false },
    });
  });

  it("passes the view's refusals on, and refuses anything else", () => {
    expect(answerRuntimeRequest(view, 'GET', '/v1/pods/default/gone')).toEqual({
      status: 404,
      body: { message: 'pod "gone" does not exist' },
    });
    expect(answerRuntimeRequest(view, 'GET', '/v1/pods/default/web/containers/side')).toEqual({
      status: 400,
      body: { message: 'container side in pod web is not running' },
    });
    expect(answerRuntimeRequest(view, 'POST', '/v1/pods/default/web').status).toBe(405);
    expect(answerRuntimeRequest(view, 'GET', '/v1/pods/default').status).toBe(404);
    expect(answerRuntimeRequest(view, 'GET', '/v1/pods/default/web/volumes/x').status).toBe(404);
    expect(answerRuntimeRequest(view, 'GET', '/v1/pods/default/web/containers/app/log/more').status).toBe(
      404,
    );
    expect(answerRuntimeRequest(view, 'GET', '/v1/pods/%E0%A4%A/web').status).toBe(400);
  });
});

describe('serveRuntimeSocket', () => {
  let dir = '';
  afterEach(async () => {
    if (dir !== '') await rm(dir, { recursive: true, force: true });
  });

  function get(socketPath: string, path: string): Promise<{ status: number; body: unknown }> {
    return new Promise((resolve, reject) => {
      const req = request({ socketPath, path }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (b: Buffer) => chunks.push(b));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            body: JSON.parse(Buffer.concat(chunks).toString()) as unknown,
          }),
        );
      });
      req.on('error', reject);
      req.end();
    });
  }

  it('serves the view on a unix socket and removes it on close', async () => {
    dir = await mkdtemp(join(tmpdir(), 'ambit-rs-'));
    const path = join(dir, 'runtime.sock');
    const socket = await serveRuntimeSocket(path, view);
    expect(await get(path, '/v1/pods/default/web')).toEqual({
      status: 200,
      body: { uid: 'u-1', netns: '/run/netns/box-p1' },
    });
    expect(await get(path, '/v1/pods/default/nope')).toMatchObject({ status: 404 });
    await socket.close();
    await socket.close();
    expect(existsSync(path)).toBe(false);
  });

  it('refuses a path too long for a unix socket', async () => {
    await expect(serveRuntimeSocket(`/tmp/${'x'.repeat(120)}.sock`, view)).rejects.toThrow(KubeletError);
  });
});
