// Evaluates Kubernetes CEL validation rules (x-kubernetes-validations) offline, as the apiserver does on create.
//
// The apiserver stays the authority; this lets the operator and the CLI explain a bad object before it is sent,
// and check objects that never reach the apiserver (e.g. test fixtures). Kubernetes' CEL libraries that upstream
// CRDs use (url, isURL, isIP) are registered here; a rule that still does not compile is reported by
// `compileRule` as unchecked, never silently passed.
import { Environment } from '@marcbachmann/cel-js';
import { isIP } from 'node:net';

/** A rule from an x-kubernetes-validations list. */
export interface CelRule {
  readonly rule: string;
  readonly message?: string;
  readonly messageExpression?: string;
  readonly fieldPath?: string;
  readonly reason?: string;
  readonly optionalOldSelf?: boolean;
}

/** The outcome of one rule on one value. */
export type CelOutcome = { readonly ok: true } | { readonly ok: false; readonly message: string };

/** A rule ready to run, or the reason it cannot be checked offline. */
export type CompiledRule =
  | { readonly kind: 'check'; readonly rule: CelRule; readonly run: (self: unknown) => CelOutcome }
  | { readonly kind: 'transition'; readonly rule: CelRule }
  | { readonly kind: 'unchecked'; readonly rule: CelRule; readonly reason: string };

/** Kubernetes' URL value (the `url()` CEL library). */
class KubeUrl {
  readonly url: URL;
  constructor(url: URL) {
    this.url = url;
  }
}

function makeEnvironment(): Environment {
  return new Environment({ unlistedVariablesAreDyn: true, homogeneousAggregateLiterals: false })
    .registerType('URL', KubeUrl)
    .registerVariable('self', 'dyn')
    .registerFunction('isURL(string): bool', (s: string) => URL.canParse(s))
    .registerFunction('url(string): URL', (s: string) => new KubeUrl(new URL(s)))
    .registerFunction('isIP(string): bool', (s: string) => isIP(s) !== 0)
    .registerFunction({
      name: 'getScheme',
      receiverType: 'URL',
      returnType: 'string',
      handler: (u: KubeUrl) => u.url.protocol.replace(/:$/, ''),
      params: [],
    })
    .registerFunction({
      name: 'getHostname',
      receiverType: 'URL',
      returnType: 'string',
      handler: (u: KubeUrl) => u.url.hostname,
      params: [],
    });
}

let shared: Environment | undefined;
function environment(): Environment {
  shared ??= makeEnvironment();
  return shared;
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message.split('\n')[0]! : String(err);
}

/** Compiles one rule; transition rules (using `oldSelf`) only apply to updates and are kept apart. */
export function compileRule(rule: CelRule): CompiledRule {
  if (/\boldSelf\b/.test(rule.rule)) return { kind: 'transition', rule };
  const env = environment();
  let program: (ctx: Record<string, unknown>) => unknown;
  let messageProgram: ((ctx: Record<string, unknown>) => unknown) | undefined;
  try {
    const checked = env.check(rule.rule);
    if (!checked.valid) {
      return { kind: 'unchecked', rule, reason: describe(checked.error) };
    }
    program = env.parse(rule.rule);
    if (rule.messageExpression) messageProgram = env.parse(rule.messageExpression);
  } catch (err) {
    return { kind: 'unchecked', rule, reason: describe(err) };
  }
  const fallback = rule.message ?? `failed rule: ${rule.rule}`;
  const run = (self: unknown): CelOutcome => {
    let result: unknown;
    try {
      result = program({ self });
    } catch (err) {
      return { ok: false, message: `rule could not be evaluated: ${rule.rule}: ${describe(err)}` };
    }
    if (result === true) return { ok: true };
    if (messageProgram) {
      try {
        const text = messageProgram({ self });
        if (typeof text === 'string' && text !== '') return { ok: false, message: text };
      } catch {
        // fall back to the static message, as the apiserver does when messageExpression fails
      }
    }
    return { ok: false, message: fallback };
  };
  return { kind: 'check', rule, run };
}

/** A JSON-schema node, as far as converting values to CEL needs it. */
interface SchemaNode {
  readonly type?: string;
  readonly properties?: Readonly<Record<string, SchemaNode>>;
  readonly additionalProperties?: SchemaNode | boolean;
  readonly items?: SchemaNode;
  readonly 'x-kubernetes-int-or-string'?: boolean;
}

/**
 * Converts a JSON value to what CEL expects: integers become BigInt where the schema says integer (CEL keeps
 * int and double apart); where the schema says nothing, whole numbers are taken as int.
 */
export function toCelValue(value: unknown, schemaObject: object | undefined): unknown {
  const schema = schemaObject as SchemaNode | undefined;
  if (typeof value === 'number') {
    const integral = schema?.type === 'integer' || schema?.['x-kubernetes-int-or-string'] === true;
    const unknownType = schema?.type === undefined && Number.isInteger(value);
    return (integral || unknownType) && Number.isInteger(value) ? BigInt(value) : value;
  }
  if (Array.isArray(value)) return value.map((item) => toCelValue(item, schema?.items));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, child] of Object.entries(value)) {
      const additional =
        typeof schema?.additionalProperties === 'object' ? schema.additionalProperties : undefined;
      out[key] = toCelValue(child, schema?.properties?.[key] ?? additional);
    }
    return out;
  }
  return value;
}
