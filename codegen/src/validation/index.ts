// Validators for Kubernetes objects against their CRD schema, with the apiserver's defaults and field-path errors.
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormatsPlugin from 'ajv-formats';
import { applyDefaults } from './defaults.ts';
import { fieldPathFromPointer, joinFieldPath } from './field-path.ts';
import { addKubernetesKeywords, kubernetesFormats, type UncheckedRule } from './k8s-keywords.ts';

export type { UncheckedRule } from './k8s-keywords.ts';
export { fieldPathFromPointer } from './field-path.ts';

/** One problem with one field. */
export interface FieldIssue {
  /** Kubernetes field path, e.g. `spec.ca.workloadCertTTL`. */
  readonly field: string;
  readonly message: string;
}

/** Thrown by `assertValid`; `issues` lists every problem found, not just the first. */
export class InvalidObjectError extends Error {
  readonly code = 'ERR_INVALID_OBJECT';
  readonly issues: readonly FieldIssue[];
  constructor(object: string, issues: readonly FieldIssue[]) {
    super(`${object} is invalid: ${issues.map((i) => `${i.field || '<root>'}: ${i.message}`).join('; ')}`);
    this.name = 'InvalidObjectError';
    this.issues = issues;
  }
}

export type ValidationResult<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly issues: readonly FieldIssue[]; readonly error: InvalidObjectError };

/** Validates one kind; `value` on success is a defaulted copy of the input, as the apiserver would store it. */
export interface ObjectValidator<T> {
  readonly apiVersion: string;
  readonly kind: string;
  validate(object: unknown): ValidationResult<T>;
  /** The object, defaulted, or an `InvalidObjectError`. */
  assertValid(object: unknown): T;
  /** CEL rules this validator cannot evaluate offline (the apiserver still does). */
  uncheckedRules(): readonly UncheckedRule[];
}

/** Describes `kind "ns/name"` for messages. */
export function describeObject(kind: string, object: unknown): string {
  const meta = (object as { metadata?: { name?: unknown; namespace?: unknown } } | null)?.metadata;
  const name = typeof meta?.name === 'string' ? meta.name : '<unnamed>';
  const ns = typeof meta?.namespace === 'string' && meta.namespace !== '' ? `${meta.namespace}/` : '';
  return `${kind} "${ns}${name}"`;
}

function shown(value: unknown): string {
  if (value === null || ['string', 'number', 'boolean'].includes(typeof value)) {
    return ` (got ${JSON.stringify(value)})`;
  }
  return '';
}

/** Maps ajv's errors to field issues: one per distinct problem, in a stable order. */
export function toFieldIssues(errors: readonly ErrorObject[]): FieldIssue[] {
  const base = errors.map((e) => ({ e, path: fieldPathFromPointer(e.instancePath) }));
  const specific = new Set(
    base.filter(({ e }) => e.keyword !== 'anyOf' && e.keyword !== 'oneOf').map((b) => b.path),
  );
  const issues: FieldIssue[] = [];
  for (const { e, path } of base) {
    const p = e.params as Record<string, unknown>;
    if ((e.keyword === 'anyOf' || e.keyword === 'oneOf') && specific.has(path)) continue;
    switch (e.keyword) {
      case 'required':
        issues.push({ field: joinFieldPath(path, String(p.missingProperty)), message: 'Required value' });
        break;
      case 'additionalProperties':
        issues.push({ field: joinFieldPath(path, String(p.additionalProperty)), message: 'unknown field' });
        break;
      case 'enum':
        issues.push({
          field: path,
          message: `must be one of ${(p.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}${shown(e.data)}`,
        });
        break;
      case 'x-kubernetes-list-type':
        issues.push({ field: `${path}[${String(p.index)}]`, message: e.message ?? 'duplicate' });
        break;
      case 'x-kubernetes-validations':
        issues.push({
          field: joinFieldPath(path, typeof p.fieldPath === 'string' ? p.fieldPath : ''),
          message: e.message ?? 'invalid',
        });
        break;
      default:
        issues.push({ field: path, message: `${e.message ?? 'invalid'}${shown(e.data)}` });
    }
  }
  const seen = new Set<string>();
  return issues.filter((i) => {
    const key = `${i.field}\u0000${i.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function newAjv(unchecked: UncheckedRule[]): Ajv {
  const ajv = new Ajv({
    allErrors: true,
    verbose: true,
    strict: true,
    strictTypes: false,
    strictTuples: false,
    strictRequired: false,
    allowUnionTypes: true,
    validateFormats: true,
  });
  // ajv-formats' CommonJS default export needs this cast under nodenext resolution.
  (addFormatsPlugin as unknown as (a: Ajv) => Ajv)(ajv);
  for (const [name, format] of Object.entries(kubernetesFormats)) ajv.addFormat(name, format);
  addKubernetesKeywords(ajv, unchecked);
  return ajv;
}

/** Every `format` used in a schema, so that unknown ones can be accepted as the apiserver does. */
function formatsIn(node: unknown, out = new Set<string>()): Set<string> {
  if (Array.isArray(node)) node.forEach((n) => formatsIn(n, out));
  else if (node !== null && typeof node === 'object') {
    for (const [k, v] of Object.entries(node)) {
      if (k === 'format' && typeof v === 'string') out.add(v);
      else formatsIn(v, out);
    }
  }
  return out;
}

/** Creates a validator for one kind from its (codegen-prepared) JSON schema. Compiles on first use. */
export function makeValidator<T>(apiVersion: string, kind: string, schema: object): ObjectValidator<T> {
  const unchecked: UncheckedRule[] = [];
  let compiled: ValidateFunction | undefined;
  const compile = (): ValidateFunction => {
    if (compiled) return compiled;
    const ajv = newAjv(unchecked);
    for (const format of formatsIn(schema)) {
      if (!ajv.formats[format]) ajv.addFormat(format, true);
    }
    compiled = ajv.compile(schema);
    return compiled;
  };
  const validate = (object: unknown): ValidationResult<T> => {
    const fn = compile();
    const copy = applyDefaults(structuredClone(object), schema);
    if (fn(copy)) return { ok: true, value: copy as T };
    const issues = toFieldIssues(fn.errors ?? []);
    return { ok: false, issues, error: new InvalidObjectError(describeObject(kind, object), issues) };
  };
  return {
    apiVersion,
    kind,
    validate,
    assertValid(object) {
      const result = validate(object);
      if (!result.ok) throw result.error;
      return result.value;
    },
    uncheckedRules() {
      compile();
      return unchecked;
    },
  };
}
