import type { PathModifier, Redirect, RouteMatch, StringMatch } from '@ambit/config';
import { describe, expect, it } from 'vitest';
import { applyHeaderMutation, applyRewrite, buildRedirect, rewritePath } from './request-rewrite.ts';
import { match, request } from './testing/builders.ts';

const on = (path: StringMatch): RouteMatch => match({ path });

describe('applyHeaderMutation', () => {
  it('removes, then sets, then adds, case-insensitively', () => {
    const headers = { 'x-a': '1', 'x-b': ['2', '3'], 'x-c': '4', 'x-d': '5' };
    expect(
      applyHeaderMutation(headers, {
        remove: ['X-C', 'x-d'],
        set: [{ name: 'X-B', value: 'set' }],
        add: [
          { name: 'x-a', value: 'more' },
          { name: 'X-D', value: 'back' },
          { name: 'x-new', value: 'n' },
        ],
      }),
    ).toEqual({ 'x-a': ['1', 'more'], 'x-b': 'set', 'x-d': 'back', 'x-new': 'n' });
    expect(headers).toEqual({ 'x-a': '1', 'x-b': ['2', '3'], 'x-c': '4', 'x-d': '5' });
  });

  it('returns the headers unchanged without a mutation', () => {
    const headers = { a: '1' };
    expect(applyHeaderMutation(headers, undefined)).toBe(headers);
  });
});

describe('rewritePath', () => {
  // Gateway API's ReplacePrefixMatch table (HTTPPathModifier docs), plus query strings and other conditions.
  it.each<[string, StringMatch | undefined, PathModifier, string]>([
    ['/foo/bar', { pathPrefix: '/foo' }, { prefix: '/xyz' }, '/xyz/bar'],
    ['/foo/bar', { pathPrefix: '/foo' }, { prefix: '/xyz/' }, '/xyz/bar'],
    ['/foo/bar', { pathPrefix: '/foo/' }, { prefix: '/xyz' }, '/xyz/bar'],
    ['/foo/bar', { pathPrefix: '/foo/' }, { prefix: '/xyz/' }, '/xyz/bar'],
    ['/foo', { pathPrefix: '/foo' }, { prefix: '/xyz' }, '/xyz'],
    ['/foo/', { pathPrefix: '/foo' }, { prefix: '/xyz' }, '/xyz/'],
    ['/foo/bar', { pathPrefix: '/foo' }, { prefix: '' }, '/bar'],
    ['/foo/', { pathPrefix: '/foo' }, { prefix: '' }, '/'],
    ['/foo', { pathPrefix: '/foo' }, { prefix: '' }, '/'],
    ['/foo/', { pathPrefix: '/foo' }, { prefix: '/' }, '/'],
    ['/foo', { pathPrefix: '/foo' }, { prefix: '/' }, '/'],
    ['/foo/bar', { pathPrefix: '/foo' }, { prefix: '/' }, '/bar'],
    ['/foo/bar', { pathPrefix: '/foo' }, { prefix: '/baz' }, '/baz/bar'],
    ['/foo/bar?x=1&y', { pathPrefix: '/foo' }, { prefix: '/baz' }, '/baz/bar?x=1&y'],
    ['/foo/bar', { pathPrefix: '/' }, { prefix: '/api' }, '/api/foo/bar'],
    ['/foobar', { prefix: '/foo' }, { prefix: '/baz' }, '/bazbar'],
    ['/v1/x', { regex: '/v1/.*' }, { prefix: '/v2' }, '/v2'],
    ['/exact?q', { exact: '/exact' }, { prefix: '/other' }, '/other?q'],
    ['/foo/bar', undefined, { prefix: '/api' }, '/api/foo/bar'],
    ['/foo/bar?q=1', { pathPrefix: '/foo' }, { full: '/replaced' }, '/replaced?q=1'],
  ])('%s under %j with %j → %s', (path, condition, modifier, expected) => {
    expect(rewritePath(path, modifier, condition ? on(condition) : undefined)).toBe(expected);
  });
});

describe('applyRewrite', () => {
  it('rewrites host and path, keeping a host header in step', () => {
    const req = request({ path: '/foo/bar', host: 'a:9080', headers: { host: 'a:9080', 'x-y': 'z' } });
    expect(applyRewrite(req, { host: 'b', path: { prefix: '/baz' } }, on({ pathPrefix: '/foo' }))).toEqual({
      ...req,
      host: 'b',
      path: '/baz/bar',
      headers: { host: 'b', 'x-y': 'z' },
    });
  });

  it('leaves the request alone without a rewrite, and headers alone without a host change', () => {
    const req = request({ headers: { host: 'a' } });
    expect(applyRewrite(req, undefined, undefined)).toBe(req);
    expect(applyRewrite(req, { path: { full: '/x' } }, undefined).headers).toBe(req.headers);
  });
});

describe('buildRedirect', () => {
  const req = request({ host: 'example.org:9080', path: '/foo/bar?q=1', port: 80 });
  it.each<[string, Redirect, string]>([
    [
      'defaults: same scheme, host, path; port 80 left out',
      { statusCode: 302 },
      'http://example.org/foo/bar?q=1',
    ],
    [
      'scheme https: its well-known port, left out',
      { scheme: 'https', statusCode: 301 },
      'https://example.org/foo/bar?q=1',
    ],
    [
      'explicit port kept',
      { port: 8443, scheme: 'https', statusCode: 302 },
      'https://example.org:8443/foo/bar?q=1',
    ],
    ['host replaced', { host: 'other.example', statusCode: 302 }, 'http://other.example/foo/bar?q=1'],
    ['full path', { path: { full: '/moved' }, statusCode: 308 }, 'http://example.org/moved?q=1'],
    ['prefix path', { path: { prefix: '/v2' }, statusCode: 307 }, 'http://example.org/v2/bar?q=1'],
  ])('%s', (_name, redirect, location) => {
    expect(buildRedirect(redirect, req, on({ pathPrefix: '/foo' }))).toEqual({
      status: redirect.statusCode,
      location,
    });
  });

  it('keeps a non-default request port when neither scheme nor port is set', () => {
    expect(
      buildRedirect({ statusCode: 302 }, request({ host: 'h', path: '/', port: 8080 }), undefined),
    ).toEqual({
      status: 302,
      location: 'http://h:8080/',
    });
  });

  it('uses the well-known port of a redirect scheme over the request port', () => {
    const r = buildRedirect(
      { scheme: 'https', statusCode: 302 },
      request({ host: 'h', path: '/', port: 8080 }),
      undefined,
    );
    expect(r.location).toBe('https://h/');
  });
});
