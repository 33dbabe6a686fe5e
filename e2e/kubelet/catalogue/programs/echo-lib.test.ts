// Unit tests: echo program arguments and the HTTP echo's JSON.
import { describe, expect, it } from 'vitest';
import { describeRequest, parseEchoArgs } from './echo-lib.ts';

describe('parseEchoArgs', () => {
  it('prefers --port, then PORT, then the fallback', () => {
    expect(parseEchoArgs(['--port', '81', '--port=82,83'], { PORT: '90' }, 80).ports).toEqual([81, 82, 83]);
    expect(parseEchoArgs([], { PORT: '90, 91' }, 80).ports).toEqual([90, 91]);
    expect(parseEchoArgs([], {}, 80)).toEqual({ ports: [80], prefix: '' });
  });

  it('reads the TCP prefix', () => {
    expect(parseEchoArgs(['--prefix=hello '], {}, 9000).prefix).toBe('hello ');
    expect(parseEchoArgs(['--prefix', 'x'], {}, 9000).prefix).toBe('x');
  });

  it.each([[['--port', '0']], [['--port', 'http']], [['--port']], [['--verbose']]])('rejects %j', (argv) => {
    expect(() => parseEchoArgs(argv, {}, 80)).toThrow();
  });
});

describe('describeRequest', () => {
  it('describes the request, the pod and both ends', () => {
    const body = describeRequest(
      {
        method: 'POST',
        url: '/a/b?x=1',
        httpVersion: '1.1',
        rawHeaders: ['Host', 'echo', 'X-Test', 'a', 'x-test', 'b'],
        source: { address: '::ffff:10.244.1.5', port: 40000 },
        destination: { address: '10.244.1.6', port: 8080 },
        bodyBytes: 3,
      },
      { POD_NAME: 'echo-1', POD_NAMESPACE: 'demo', NODE_NAME: 'n1' },
      'echo-1',
    );
    expect(body).toEqual({
      pod: 'echo-1',
      namespace: 'demo',
      node: 'n1',
      serviceAccount: '',
      version: '',
      hostname: 'echo-1',
      method: 'POST',
      path: '/a/b',
      query: 'x=1',
      protocol: 'HTTP/1.1',
      headers: { host: 'echo', 'x-test': 'a, b' },
      source: { address: '10.244.1.5', port: 40000 },
      destination: { address: '10.244.1.6', port: 8080 },
      bodyBytes: 3,
    });
  });
});
