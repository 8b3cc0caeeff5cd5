// Go's math/big.Float as OPA's arithmetic uses it (Gatekeeper's OPA v1.17.1: topdown/arithmetic.go
// and aggregates.go through builtins.NumberToFloat/FloatToNumber): SetString at 64 bits of mantissa
// (Go's scan: the decimal mantissa exact, then one multiplication or division by a power of five),
// Add/Sub/Mul/Quo rounded to nearest even at the result's precision, Int, SetInt, Cmp, and
// Text('g'/'f', -1) with big's own shortest-digits rounding. The results are Go's digit for digit:
// `0.001 * 1000` is 0.99999999999999999995 and `1 / 3` 0.33333333333333333334 in Gatekeeper.
import { formatDigits, type Digits } from './format-float.js';

/** ±mant × 2^exp, rounded to `prec` bits; mant 0n is a (signed) zero. */
export interface BigFloat {
  readonly neg: boolean;
  readonly mant: bigint;
  readonly exp: number;
  readonly prec: number;
}

const bitLength = (n: bigint): number => (n === 0n ? 0 : n.toString(2).length);

/** Rounds ±mant × 2^exp to prec bits, half to even; `sticky` says the exact value is a little above mant. */
function rounded(neg: boolean, mant: bigint, exp: number, prec: number, sticky = false): BigFloat {
  if (mant === 0n) return { neg, mant: 0n, exp: 0, prec };
  const excess = bitLength(mant) - prec;
  if (excess <= 0) return { neg, mant, exp, prec };
  const shift = BigInt(excess);
  let kept = mant >> shift;
  const rest = mant - (kept << shift);
  const half = 1n << (shift - 1n);
  if (rest > half || (rest === half && (sticky || (kept & 1n) === 1n))) kept += 1n;
  let e = exp + excess;
  if (bitLength(kept) > prec) {
    kept >>= 1n;
    e += 1;
  }
  return { neg, mant: kept, exp: e, prec };
}

const signed = (x: BigFloat): bigint => (x.neg ? -x.mant : x.mant);

/** x + y at prec (Go: z.prec 0 takes the larger operand's). */
export function add(x: BigFloat, y: BigFloat, prec = Math.max(x.prec, y.prec)): BigFloat {
  if (x.mant === 0n && y.mant === 0n) return { neg: x.neg && y.neg, mant: 0n, exp: 0, prec };
  const exp = Math.min(x.exp, y.exp);
  const sum = (signed(x) << BigInt(x.exp - exp)) + (signed(y) << BigInt(y.exp - exp));
  // x + (-x) is +0 when rounding to nearest.
  return rounded(sum < 0n, sum < 0n ? -sum : sum, exp, prec);
}

export function sub(x: BigFloat, y: BigFloat, prec = Math.max(x.prec, y.prec)): BigFloat {
  return add(x, { ...y, neg: !y.neg }, prec);
}

export function mul(x: BigFloat, y: BigFloat, prec = Math.max(x.prec, y.prec)): BigFloat {
  return rounded(x.neg !== y.neg, x.mant * y.mant, x.exp + y.exp, prec);
}

/** x / y, correctly rounded (Go's uquo keeps a sticky bit of the remainder); y must not be zero. */
export function quo(x: BigFloat, y: BigFloat, prec = Math.max(x.prec, y.prec)): BigFloat {
  const neg = x.neg !== y.neg;
  if (x.mant === 0n) return { neg, mant: 0n, exp: 0, prec };
  // Enough quotient bits for the rounding bit and one more below it.
  const shift = Math.max(0, prec + 2 - (bitLength(x.mant) - bitLength(y.mant)) + 1);
  const scaled = x.mant << BigInt(shift);
  const q = scaled / y.mant;
  return rounded(neg, q, x.exp - y.exp - shift, prec, q * y.mant !== scaled);
}

export function cmp(x: BigFloat, y: BigFloat): number {
  const exp = Math.min(x.exp, y.exp);
  const a = signed(x) << BigInt(x.exp - exp);
  const b = signed(y) << BigInt(y.exp - exp);
  return a < b ? -1 : a > b ? 1 : 0;
}

export const isZero = (x: BigFloat): boolean => x.mant === 0n;

export function isInt(x: BigFloat): boolean {
  if (x.mant === 0n || x.exp >= 0) return true;
  const shift = BigInt(-x.exp);
  return (x.mant >> shift) << shift === x.mant;
}

/** x truncated towards zero (Go's Int). */
export function trunc(x: BigFloat): bigint {
  const magnitude = x.exp >= 0 ? x.mant << BigInt(x.exp) : x.mant >> BigInt(-x.exp);
  return x.neg ? -magnitude : magnitude;
}

/** Go's SetInt on a new Float: exact, at the larger of 64 bits and the integer's length. */
export function fromInt(i: bigint): BigFloat {
  const mant = i < 0n ? -i : i;
  return { neg: i < 0n, mant, exp: 0, prec: Math.max(64, bitLength(mant)) };
}

/** big.NewFloat(v) for the small integers OPA uses (0.5 as 1 × 2^-1): 53 bits. */
export function fromSmall(mant: number, exp = 0): BigFloat {
  return { neg: mant < 0, mant: BigInt(Math.abs(mant)), exp, prec: 53 };
}

const NUMBER = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/;

/** Go's Float.SetString on a new Float (64 bits): undefined for text Go would refuse. */
export function parse(text: string, prec = 64): BigFloat | undefined {
  const m = NUMBER.exec(text);
  if (!m || (m[2] === '' && (m[3] ?? '') === '')) return undefined;
  const neg = m[1] === '-';
  const fraction = m[3] ?? '';
  const mant = BigInt(`${m[2]}${fraction}` || '0');
  if (mant === 0n) return { neg, mant: 0n, exp: 0, prec };
  const exp5 = (m[4] === undefined ? 0 : Number(m[4])) - fraction.length;
  if (!Number.isSafeInteger(exp5)) return undefined;
  if (exp5 === 0) return rounded(neg, mant, 0, prec);
  // The mantissa is not rounded before 2^exp5 × 5^exp5 is applied: one rounding, at the end.
  const exact: BigFloat = { neg, mant, exp: exp5, prec };
  const p = pow5(Math.abs(exp5), prec + 64);
  return exp5 < 0 ? quo(exact, p, prec) : mul(exact, p, prec);
}

/** Go's pow5: exact up to 5^27, then binary powering at prec (z) and prec + 64 (f) bits. */
function pow5(n: number, prec: number): BigFloat {
  if (n <= 27) return { neg: false, mant: 5n ** BigInt(n), exp: 0, prec };
  let z: BigFloat = { neg: false, mant: 5n ** 27n, exp: 0, prec };
  let f: BigFloat = { neg: false, mant: 5n, exp: 0, prec: prec + 64 };
  for (let k = n - 27; k > 0; k = Math.floor(k / 2)) {
    if (k % 2 === 1) z = mul(z, f, prec);
    f = mul(f, f, prec + 64);
  }
  return z;
}

/** What OPA makes of a result (builtins.FloatToNumber): Text('f', -1) for integers, else Text('g', -1). */
export function numberText(x: BigFloat): string {
  return text(x, isInt(x) ? 'f' : 'g');
}

/** Go's x.Text(fmt, -1): the shortest digits that read back as x at x's precision. */
export function text(x: BigFloat, fmt: 'f' | 'g'): string {
  let digits: Digits = { d: '', dp: 0 };
  if (x.mant !== 0n) digits = roundShortest(decimal(x.mant, x.exp), x);
  const prec = fmt === 'f' ? Math.max(digits.d.length - digits.dp, 0) : digits.d.length;
  return formatDigits(true, x.neg, digits, prec, fmt);
}

/** The exact decimal digits of mant × 2^exp, trailing zeros trimmed (big's decimal.init). */
function decimal(mant: bigint, exp: number): Digits {
  let text: string;
  let dp: number;
  if (exp >= 0) {
    text = (mant << BigInt(exp)).toString();
    dp = text.length;
  } else {
    text = (mant * 5n ** BigInt(-exp)).toString();
    dp = text.length + exp;
  }
  const d = text.replace(/0+$/, '');
  return d === '' ? { d: '', dp: 0 } : { d, dp };
}

/**
 * big/ftoa.go roundShortest, as written: the bounds half an ulp (at x.prec) below and above are
 * compared digit by digit at the same index, whatever their decimal exponents.
 */
function roundShortest(d: Digits, x: BigFloat): Digits {
  let mant = x.mant;
  let exp = x.exp;
  const s = bitLength(mant) - (x.prec + 1);
  if (s < 0) mant <<= BigInt(-s);
  else if (s > 0) mant >>= BigInt(s);
  exp += s;
  const lower = decimal(mant - 1n, exp);
  const upper = decimal(mant + 1n, exp);
  const inclusive = (mant & 2n) === 0n;
  const at = (x: Digits, i: number) => (i < x.d.length ? x.d.charCodeAt(i) : 48);
  for (let i = 0; i < d.d.length; i++) {
    const m = d.d.charCodeAt(i);
    const l = at(lower, i);
    const u = at(upper, i);
    const okDown = l !== m || (inclusive && i + 1 === lower.d.length);
    const okUp = m !== u && (inclusive || m + 1 < u || i + 1 < upper.d.length);
    if (okDown && okUp) return roundNearest(d, i + 1);
    if (okDown) return roundDown(d, i + 1);
    if (okUp) return roundUp(d, i + 1);
  }
  return d;
}

function roundNearest(x: Digits, n: number): Digits {
  if (n < 0 || n >= x.d.length) return x;
  const half = x.d[n] === '5' && n + 1 === x.d.length;
  const up = half ? n > 0 && (x.d.charCodeAt(n - 1) - 48) % 2 === 1 : x.d[n]! >= '5';
  return up ? roundUp(x, n) : roundDown(x, n);
}

function roundUp(x: Digits, n: number): Digits {
  if (n < 0 || n >= x.d.length) return x;
  while (n > 0 && x.d[n - 1]! >= '9') n--;
  if (n === 0) return { d: '1', dp: x.dp + 1 };
  return { d: x.d.slice(0, n - 1) + String.fromCharCode(x.d.charCodeAt(n - 1) + 1), dp: x.dp };
}

function roundDown(x: Digits, n: number): Digits {
  if (n < 0 || n >= x.d.length) return x;
  const d = x.d.slice(0, n).replace(/0+$/, '');
  return d === '' ? { d: '', dp: 0 } : { d, dp: x.dp };
}
