import type { StringMatch } from '@ambit/config';
import { describe, expect, it } from 'vitest';
import { selectRoute, selectRouteMatch } from './route-select.ts';
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
