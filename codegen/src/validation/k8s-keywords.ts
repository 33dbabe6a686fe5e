// Teaches ajv the `x-kubernetes-*` extensions of CRD schemas, with the apiserver's meaning.
//
//  1. x-kubernetes-int-or-string: the value is an integer or a string.
//  2. x-kubernetes-list-type: `set` items are unique; `map` items are unique by x-kubernetes-list-map-keys.
//  3. x-kubernetes-embedded-resource: the value carries apiVersion and kind.
//  4. x-kubernetes-validations: CEL rules (cel.ts); transition rules are skipped (no old object on create).
//  5. x-kubernetes-preserve-unknown-fields, -list-map-keys, -map-type: shape hints, checked elsewhere or not at all.
import type { Ajv, ErrorObject, KeywordDefinition } from 'ajv';
import { isDeepStrictEqual } from 'node:util';
import { compileRule, toCelValue, type CelRule } from './cel.ts';

/** A CEL rule the offline validator cannot evaluate, with where it sits and why. */
export interface UncheckedRule {
  readonly rule: string;
  readonly reason: string;
}

type KeywordError = Partial<ErrorObject> & { message: string };

/** Sets the errors of a keyword validate function (ajv's convention for custom keywords). */
function fail(fn: object, keyword: string, errors: KeywordError[]): false {
  Object.assign(fn, { errors: errors.map((e) => ({ keyword, params: {}, ...e })) });
  return false;
}

const intOrString: KeywordDefinition = {
  keyword: 'x-kubernetes-int-or-string',
  schemaType: 'boolean',
  errors: true,
  validate: function check(enabled: boolean, data: unknown): boolean {
    if (!enabled || Number.isInteger(data) || typeof data === 'string') return true;
    return fail(check, 'x-kubernetes-int-or-string', [{ message: 'must be an integer or a string' }]);
  },
};

function describeKey(item: unknown, keys: readonly string[]): string {
  const record = (item ?? {}) as Record<string, unknown>;
  return keys.map((k) => `${k}=${JSON.stringify(record[k])}`).join(', ');
}

const listType: KeywordDefinition = {
  keyword: 'x-kubernetes-list-type',
  schemaType: 'string',
  errors: true,
  validate: function check(type: string, data: unknown, parent?: Record<string, unknown>): boolean {
    if (!Array.isArray(data)) return true;
    if (type === 'set') {
      for (let i = 0; i < data.length; i++) {
        for (let j = 0; j < i; j++) {
          if (isDeepStrictEqual(data[i], data[j])) {
            return fail(check, 'x-kubernetes-list-type', [
              { message: `duplicate value ${JSON.stringify(data[i])}`, params: { index: i } },
            ]);
          }
        }
      }
    }
    if (type === 'map') {
      const keys = (parent?.['x-kubernetes-list-map-keys'] as string[] | undefined) ?? [];
      const seen = new Map<string, number>();
      for (const [i, item] of data.entries()) {
        const record = (item ?? {}) as Record<string, unknown>;
        const id = JSON.stringify(keys.map((k) => record[k]));
        if (seen.has(id)) {
          return fail(check, 'x-kubernetes-list-type', [
            { message: `duplicate entry with ${describeKey(item, keys)}`, params: { index: i } },
          ]);
        }
        seen.set(id, i);
      }
    }
    return true;
  },
};

const embeddedResource: KeywordDefinition = {
  keyword: 'x-kubernetes-embedded-resource',
  schemaType: 'boolean',
  errors: true,
  validate: function check(enabled: boolean, data: unknown): boolean {
    if (!enabled || data === null || typeof data !== 'object') return true;
    const record = data as Record<string, unknown>;
    const missing = ['apiVersion', 'kind'].filter((k) => typeof record[k] !== 'string' || record[k] === '');
    if (missing.length === 0) return true;
    return fail(check, 'x-kubernetes-embedded-resource', [
      { message: `embedded object must set ${missing.join(' and ')}` },
    ]);
  },
};

/** Builds the CEL keyword; rules that cannot be checked offline are reported to `unchecked`. */
function celValidations(unchecked: UncheckedRule[]): KeywordDefinition {
  return {
    keyword: 'x-kubernetes-validations',
    schemaType: 'array',
    errors: true,
    compile(rules: CelRule[], parentSchema) {
      const compiled = rules.map(compileRule);
      for (const c of compiled) {
        if (c.kind === 'unchecked') unchecked.push({ rule: c.rule.rule, reason: c.reason });
      }
      const checks = compiled.flatMap((c) => (c.kind === 'check' ? [c] : []));
      const validate = function check(data: unknown): boolean {
        const self = toCelValue(data, parentSchema);
        const errors: KeywordError[] = [];
        for (const c of checks) {
          const outcome = c.run(self);
          if (!outcome.ok) {
            errors.push({
              message: outcome.message,
              params: { rule: c.rule.rule, fieldPath: c.rule.fieldPath ?? '', reason: c.rule.reason ?? '' },
            });
          }
        }
        if (errors.length === 0) return true;
        return fail(check, 'x-kubernetes-validations', errors);
      };
      return validate;
    },
  };
}

/** Hint keywords that carry no check of their own here. */
const hints = ['x-kubernetes-preserve-unknown-fields', 'x-kubernetes-list-map-keys', 'x-kubernetes-map-type'];

/** Adds every x-kubernetes-* keyword to an Ajv instance. */
export function addKubernetesKeywords(ajv: Ajv, unchecked: UncheckedRule[]): void {
  for (const keyword of hints) ajv.addKeyword({ keyword });
  ajv.addKeyword(intOrString);
  ajv.addKeyword(listType);
  ajv.addKeyword(embeddedResource);
  ajv.addKeyword(celValidations(unchecked));
}

/** Formats the OpenAPI formats Kubernetes knows; any other format is accepted unchecked, as the apiserver does. */
export const kubernetesFormats: Readonly<Record<string, RegExp | ((v: string) => boolean)>> = {
  byte: /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/,
  password: () => true,
};
