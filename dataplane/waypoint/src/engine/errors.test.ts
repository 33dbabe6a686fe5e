import { describe, expect, it } from 'vitest';
import { EngineError, localReplyFor } from './errors.ts';

describe('localReplyFor', () => {
  it('answers an unknown subset 503 NC, as Envoy answers a missing cluster', () => {
    const e = new EngineError('ERR_UNKNOWN_SUBSET', 'subset "v9" of default/reviews is not defined');
    expect(localReplyFor(e)).toEqual({ status: 503, flag: 'NC', body: e.message });
  });

  it('answers a bad regex 500 and keeps the cause', () => {
    const cause = new SyntaxError('bad');
    const e = new EngineError('ERR_INVALID_ROUTE_REGEX', 'invalid route regex "("', { cause });
    expect(localReplyFor(e).status).toBe(500);
    expect(e.cause).toBe(cause);
  });
});
