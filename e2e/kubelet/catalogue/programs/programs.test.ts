// Unit tests: the catalogue programs as processes on loopback (echo-http, echo-tcp) and the shell shim.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { connect, createServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { pinnedNode, programPath } from '../program.ts';

const children: ChildProcess[] = [];

afterEach(() => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      s.close(() => resolve(typeof addr === 'object' && addr !== null ? addr.port : 0));
    });
  });
}

/** Starts a program and resolves once it printed `listening`. */
function startProgram(file: string, args: string[], env: Record<string, string>): Promise<ChildProcess> {
  const child = spawn(pinnedNode(), [programPath(file), ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (b: Buffer) => {
      out += b.toString();
      if (out.includes('listening')) resolve(child);
    });
    child.once('exit', (code) => reject(new Error(`${file} exited ${String(code)}: ${out}`)));
  });
}

function exitOf(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

describe('echo-http', () => {
  it('answers with JSON naming the pod and the caller, and exits 0 on SIGTERM', async () => {
    const port = await freePort();
    const child = await startProgram('echo-http.ts', [], {
      PORT: String(port),
      POD_NAME: 'echo-0',
      POD_NAMESPACE: 'ns1',
    });
    const res = await fetch(`http://127.0.0.1:${port}/hello?x=1`, { headers: { 'x-probe': 'yes' } });
    expect(res.status).toBe(200);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toMatchObject({
      pod: 'echo-0',
      namespace: 'ns1',
      method: 'GET',
      path: '/hello',
      query: 'x=1',
      source: { address: '127.0.0.1' },
      destination: { address: '127.0.0.1', port },
    });
    expect(body.headers).toMatchObject({ 'x-probe': 'yes' });
    const exited = exitOf(child);
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });
});

describe('echo-tcp', () => {
  it('echoes bytes back with the prefix', async () => {
    const port = await freePort();
    await startProgram('echo-tcp.ts', ['--port', String(port), '--prefix', 'hello '], {});
    const reply = await new Promise<string>((resolve, reject) => {
      const s = connect(port, '127.0.0.1', () => s.write('ping'));
      s.once('data', (b: Buffer) => {
        resolve(b.toString());
        s.destroy();
      });
      s.once('error', reject);
    });
    expect(reply).toBe('hello ping');
  });
});

describe('image-shim.sh', () => {
  const shim = (...args: string[]): { status: number | null; stdout: string; stderr: string } => {
    const r = spawnSync('/bin/sh', [programPath('image-shim.sh'), ...args], { encoding: 'utf8' });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  };

  it('runs sleep in every form an image uses', () => {
    expect(shim('sleep', '0').status).toBe(0);
    expect(shim('/bin/sleep', '0').status).toBe(0);
    expect(shim('/usr/local/bin/sleep', '0s').status).toBe(0);
  });

  it('execs the host binary of a name, absolute or not', () => {
    expect(shim('/bin/echo', 'hi').stdout).toBe('hi\n');
    expect(shim('/opt/image/bin/echo', 'hi').stdout).toBe('hi\n');
    expect(shim('sh', '-c', 'exit 3').status).toBe(3);
  });

  it('applies curl entrypoint.sh rule with --default', () => {
    expect(shim('--default', 'curl', '--version').stdout).toMatch(/^curl \d/);
    expect(shim('--default', 'curl', 'echo', 'hi').stdout).toBe('hi\n');
  });

  it('fails with 127 naming a command the host lacks', () => {
    const r = shim('no-such-tool-akt');
    expect(r.status).toBe(127);
    expect(r.stderr).toContain('no-such-tool-akt: not found');
  });
});
