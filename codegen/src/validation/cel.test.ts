import { describe, expect, it } from 'vitest';
import { compileRule, toCelValue } from './cel.ts';

function run(rule: string, self: unknown, extra: Partial<Parameters<typeof compileRule>[0]> = {}) {
  const compiled = compileRule({ rule, ...extra });
  if (compiled.kind !== 'check') throw new Error(`expected a checkable rule, got ${compiled.kind}`);
  return compiled.run(self);
}

describe('compileRule', () => {
  it('compares Go durations as the apiserver does', () => {
    const rule = 'duration(self.a) < duration(self.b)';
    expect(run(rule, { a: '24h', b: '87600h' })).toEqual({ ok: true });
    expect(run(rule, { a: '90m', b: '1h' }, { message: 'too long' })).toEqual({
      ok: false,
      message: 'too long',
    });
  });

  it('falls back to a message naming the rule', () => {
    expect(run('self.size() > 1', 'a')).toEqual({ ok: false, message: 'failed rule: self.size() > 1' });
  });

  it('uses messageExpression when it yields a string', () => {
    const outcome = run('self.n < 3', { n: 5n }, { messageExpression: "'n is ' + string(self.n)" });
    expect(outcome).toEqual({ ok: false, message: 'n is 5' });
  });

  it('keeps transition rules (oldSelf) apart: they only apply to updates', () => {
    expect(compileRule({ rule: 'self == oldSelf' }).kind).toBe('transition');
  });

  it('reports a rule it cannot type-check as unchecked, with a reason', () => {
    const compiled = compileRule({ rule: 'noSuchFunction(self)' });
    expect(compiled.kind).toBe('unchecked');
    if (compiled.kind === 'unchecked') expect(compiled.reason).not.toBe('');
  });

  it("supports Kubernetes' url and ip libraries used by Gateway API", () => {
    const rule = "isURL(self) && url(self).getScheme() in ['http', 'https']";
    expect(run(rule, 'https://example.com/x')).toEqual({ ok: true });
    expect(run(rule, 'ftp://example.com').ok).toBe(false);
    expect(run('isIP(self)', '10.0.0.1')).toEqual({ ok: true });
    expect(run('isIP(self)', 'example.com').ok).toBe(false);
  });

  it('turns an evaluation error into a failure that names the rule', () => {
    const outcome = run('self.missing == 1', {});
    expect(outcome.ok).toBe(false);
    if (!outcome.ok) expect(outcome.message).toContain('self.missing == 1');
  });
});

describe('toCelValue', () => {
  it('makes schema integers BigInt and leaves numbers doubles', () => {
    const schema = {
      type: 'object',
      properties: {
        i: { type: 'integer' },
        d: { type: 'number' },
        l: { type: 'array', items: { type: 'integer' } },
      },
    };
    expect(toCelValue({ i: 3, d: 3, l: [1, 2] }, schema)).toEqual({ i: 3n, d: 3, l: [1n, 2n] });
  });

  it('treats whole numbers as int where the schema is silent', () => {
    expect(toCelValue({ x: 4, y: 1.5 }, undefined)).toEqual({ x: 4n, y: 1.5 });
  });
});
