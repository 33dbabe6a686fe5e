import type { StringMatch } from '@ambit/config';
import { describe, expect, it } from 'vitest';
import { hostMatches, requestHost, selectRoute, selectRouteMatch } from './route-select.ts';
import { stringMatches } from './string-match.ts';
import { match, request, rule, table, thrownCode } from './testing/builders.ts';

describe('stringMatches', () => {
  it.each<[StringMatch, string | undefined, boolean]>([
    [{ exact: '/foo' }, '/foo', true],
    [{ exact: '/foo' }, '/foo/', false],
    [{ prefix: '/foo' }, '/foobar', true],
    [{ prefix: '/foo' }, '/fo', false],
    [{ pathPrefix: '/foo' }, '/foo', true],
    [{ pathPrefix: '/foo' }, '/foo/', true],
    [{ pathPrefix: '/foo' }, '/foo/bar', true],
    [{ pathPrefix: '/foo' }, '/foobar', false],
    [{ pathPrefix: '/foo/' }, '/foo', true],
    [{ pathPrefix: '/foo/' }, '/foo/bar', true],
    [{ pathPrefix: '/foo/' }, '/foobar', false],
    [{ pathPrefix: '/' }, '/', true],
    [{ pathPrefix: '/' }, '/anything/at/all', true],
    [{ regex: '/v[0-9]+/.*' }, '/v1/users', true],
    [{ regex: '/v[0-9]+' }, '/v1/users', false],
    [{ regex: 'a|b' }, 'ab', false],
    [{ regex: 'a|b' }, 'b', true],
    [{ exact: '' }, undefined, false],
    [{ regex: '.*' }, undefined, false],
  ])('%j vs %j → %s', (m, value, expected) => {
    expect(stringMatches(m, value)).toBe(expected);
  });

  it('throws a typed error for a regex that does not compile', () => {
    expect(thrownCode(() => stringMatches({ regex: '(' }, 'x'))).toBe('ERR_INVALID_ROUTE_REGEX');
  });
});

describe('selectRoute', () => {
  const jason = rule('jason', {
    matches: [match({ headers: [{ name: 'end-user', value: { exact: 'jason' }, invert: false }] })],
  });
  const api = rule('api', { matches: [match({ path: { pathPrefix: '/api' }, method: 'GET' })] });
  const debug = rule('debug', { matches: [match({ queryParams: [{ name: 'debug' }] })] });
  const v2 = rule('v2', {
    matches: [match({ queryParams: [{ name: 'version', value: { exact: 'v 2' } }] })],
  });
  const notCanary = rule('not-canary', {
    matches: [match({ headers: [{ name: 'x-canary', invert: true }], port: 9080 })],
  });
  const catchAll = rule('catch-all');
  const mixedCase = rule('mixed-case', {
    matches: [match({ headers: [{ name: 'End-User', value: { exact: 'jason' }, invert: false }] })],
  });

  it.each([
    ['a header value', request({ headers: { 'end-user': 'jason' } }), [jason, catchAll], 'jason'],
    [
      'header names compare lowercase',
      request({ headers: { 'end-user': 'jason' } }),
      [mixedCase],
      'mixed-case',
    ],
    ['another header value', request({ headers: { 'end-user': 'bob' } }), [jason, catchAll], 'catch-all'],
    ['a repeated header, joined', request({ headers: { 'end-user': ['jason', 'x'] } }), [jason], undefined],
    ['path and method', request({ path: '/api/v1?x=1' }), [api], 'api'],
    ['path without the query', request({ path: '/api?debug' }), [api], 'api'],
    ['method mismatch', request({ path: '/api', method: 'POST' }), [api], undefined],
    ['segment-wise prefix', request({ path: '/apix' }), [api], undefined],
    ['query presence', request({ path: '/x?debug' }), [debug], 'debug'],
    ['query absence', request({ path: '/x?verbose=1' }), [debug], undefined],
    ['query value, decoded', request({ path: '/x?version=v+2&version=v3' }), [v2], 'v2'],
    ['query: first value counts', request({ path: '/x?version=v3&version=v+2' }), [v2], undefined],
    ['inverted presence: absent', request(), [notCanary], 'not-canary'],
    ['inverted presence: present', request({ headers: { 'x-canary': '' } }), [notCanary], undefined],
    ['port mismatch', request({ port: 9090 }), [notCanary], undefined],
    ['first match wins', request({ path: '/api', headers: { 'end-user': 'jason' } }), [api, jason], 'api'],
    ['empty matches list matches all', request({ method: 'DELETE' }), [catchAll, api], 'catch-all'],
  ])('%s', (_name, req, rules, expected) => {
    expect(selectRoute(table(...rules), req)?.name).toBe(expected);
  });

  it('matches when any one condition set matches, and reports that set', () => {
    const either = match({ path: { exact: '/b' } });
    const r = rule('either', { matches: [match({ path: { exact: '/a' } }), either] });
    expect(selectRouteMatch(table(r), request({ path: '/b' }))).toEqual({ rule: r, match: either });
  });

  it('inverts a value condition: a missing header matches the inverted form', () => {
    const r = rule('not-beta', {
      matches: [match({ headers: [{ name: 'x-track', value: { exact: 'beta' }, invert: true }] })],
    });
    expect(selectRoute(table(r), request())?.name).toBe('not-beta');
    expect(selectRoute(table(r), request({ headers: { 'x-track': 'stable' } }))?.name).toBe('not-beta');
    expect(selectRoute(table(r), request({ headers: { 'x-track': 'beta' } }))).toBeUndefined();
  });

  it('gives undefined (the Service default) without a table', () => {
    expect(selectRoute(undefined, request())).toBeUndefined();
  });
});

describe('hosts (ingress tables)', () => {
  it.each<[string, string, boolean]>([
    ['bookinfo.example', 'bookinfo.example', true],
    ['bookinfo.example', 'other.example', false],
    ['bookinfo.example', 'a.bookinfo.example', false],
    ['*.example.com', 'a.example.com', true],
    ['*.example.com', 'a.b.example.com', true],
    ['*.example.com', 'example.com', false],
    ['*.example.com', '.example.com', false],
    ['*.example.com', 'aexample.com', false],
    ['*.example.com', 'a.example.com.evil', false],
  ])('%s takes %s: %s', (pattern, host, expected) => {
    expect(hostMatches(pattern, host)).toBe(expected);
  });

  it.each([
    ['Bookinfo.Example:8080', 'bookinfo.example'],
    ['bookinfo.example', 'bookinfo.example'],
    ['[fd00::1]:80', '[fd00::1]'],
    ['', ''],
  ])('the request host of %j is %j', (authority, host) => {
    expect(requestHost(authority)).toBe(host);
  });

  const exact = rule('exact', { matches: [match({ hosts: ['bookinfo.example'] })] });
  const wildcard = rule('wildcard', { matches: [match({ hosts: ['*.example.com'] })] });
  const several = rule('several', {
    matches: [match({ hosts: ['a.test', 'b.test'], path: { exact: '/x' } })],
  });
  const anyHost = rule('any-host');

  it.each([
    ['the exact host, port and case aside', 'BookInfo.example:80', [exact, anyHost], 'exact'],
    ['another host falls through', 'other.example', [exact, anyHost], 'any-host'],
    ['another host and no any-host rule', 'other.example', [exact], undefined],
    ['a wildcard, one label', 'a.example.com', [wildcard], 'wildcard'],
    ['a wildcard, two labels', 'a.b.example.com', [wildcard], 'wildcard'],
    ['a wildcard never takes its own suffix', 'example.com', [wildcard], undefined],
    ['any of several hosts', 'b.test', [several], 'several'],
  ])('%s', (_name, host, rules, expected) => {
    expect(selectRoute(table(...rules), request({ host, path: '/x' }))?.name).toBe(expected);
  });

  it('checks the host together with the other conditions', () => {
    expect(selectRoute(table(several), request({ host: 'a.test', path: '/y' }))).toBeUndefined();
  });

  it('leaves matching without hosts as it was: any host, even none', () => {
    expect(selectRoute(table(anyHost), request({ host: '' }))?.name).toBe('any-host');
    const api = rule('api', { matches: [match({ path: { pathPrefix: '/api' } })] });
    expect(selectRoute(table(api), request({ host: 'whatever:1', path: '/api' }))?.name).toBe('api');
  });

  it('matches nothing with an empty hosts list (the wire never sends one)', () => {
    const none = rule('none', { matches: [match({ hosts: [] })] });
    expect(selectRoute(table(none), request())).toBeUndefined();
  });
});
