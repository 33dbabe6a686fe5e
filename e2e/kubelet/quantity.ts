// Exact parsing of Kubernetes resource quantities ("250m", "1.5Gi", "2e3") into fractions, for downward-API values.
import { KubeletError } from './errors.ts';

/** A non-negative rational: `num / den` in base units (cores, bytes). */
export interface Fraction {
  readonly num: bigint;
  readonly den: bigint;
}

const BINARY: Record<string, bigint> = {
  Ki: 1n << 10n,
  Mi: 1n << 20n,
  Gi: 1n << 30n,
  Ti: 1n << 40n,
  Pi: 1n << 50n,
  Ei: 1n << 60n,
};
const DECIMAL: Record<string, number> = { n: -9, u: -6, m: -3, '': 0, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };

const QUANTITY = /^([+-]?)(\d*)(?:\.(\d*))?([a-zA-Z]*|[eE][+-]?\d+)$/;

/** Parses a quantity exactly (apimachinery `ParseQuantity` grammar). */
export function parseQuantity(text: string): Fraction {
  const m = QUANTITY.exec(text.trim());
  const [, sign = '', whole = '', frac = '', suffix = ''] = m ?? [];
  if (m === null || (whole === '' && frac === '')) {
    throw new KubeletError('ERR_QUANTITY_INVALID', `invalid quantity ${JSON.stringify(text)}`);
  }
  let num = BigInt(`${whole}${frac}` || '0');
  let den = 10n ** BigInt(frac.length);
  if (sign === '-') num = -num;
  const binary = BINARY[suffix];
  if (binary !== undefined) {
    num *= binary;
  } else {
    const exp = suffix.startsWith('e') || suffix.startsWith('E') ? Number(suffix.slice(1)) : DECIMAL[suffix];
    if (exp === undefined)
      throw new KubeletError('ERR_QUANTITY_INVALID', `invalid quantity suffix in ${text}`);
    if (exp >= 0) num *= 10n ** BigInt(exp);
    else den *= 10n ** BigInt(-exp);
  }
  return { num, den };
}

/** ceil(a / b) for integers, b > 0. */
function ceilDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return a % b !== 0n && a > 0n ? q + 1n : q;
}

/** `Quantity.Value()`: the value rounded up to an integer. */
export function quantityValue(q: Fraction): bigint {
  return ceilDiv(q.num, q.den);
}

/** `Quantity.MilliValue()`: the value in thousandths, rounded up. */
export function quantityMilliValue(q: Fraction): bigint {
  return ceilDiv(q.num * 1000n, q.den);
}

/** ceil(a / b) of two already-integral values, as the kubelet's resource downward API does in float64. */
export function divideCeil(a: bigint, b: bigint): bigint {
  if (b <= 0n) throw new KubeletError('ERR_QUANTITY_INVALID', 'divisor must be positive');
  return ceilDiv(a, b);
}
