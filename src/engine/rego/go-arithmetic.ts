// Gatekeeper's OPA (v1.17.1) arithmetic on numbers as OPA keeps them, their text: topdown/arithmetic.go
// and the sum and product of aggregates.go. Integers strictly between -1000 and 1000 take Go's int
// path; everything else goes through big.Float at 64 bits (big-float.ts), so results and their text
// are Go's (`1.5 * 2` is 3, `3.0 * 1.1` 3.3000000000000000002), where the Wasm library computes in
// exact decimals (3.0, 3.30). An error (divide by zero, modulo on a float) is `undefined`: Gatekeeper
// evaluates without strict builtin errors.
import { add, cmp, fromInt, fromSmall, isInt, isZero, mul, numberText, parse, quo, sub, trunc, type BigFloat } from '../go/big-float.js';

export type BinaryOperation = 'plus' | 'minus' | 'mul' | 'div' | 'rem';
export type UnaryOperation = 'abs' | 'round' | 'ceil' | 'floor';

const INTEGER = /^[+-]?\d+$/;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/** json.Number(text).Int64(): the integer when the text is one that fits an int64. */
function int64(text: string): bigint | undefined {
  if (!INTEGER.test(text)) return undefined;
  const i = BigInt(text);
  return i >= INT64_MIN && i <= INT64_MAX ? i : undefined;
}

/** inSmallIntRange: the int path of plus, minus, mul and rem. */
function small(text: string): bigint | undefined {
  const i = int64(text);
  return i !== undefined && i > -1000n && i < 1000n ? i : undefined;
}

function float(text: string): BigFloat {
  const f = parse(text);
  if (!f) throw new Error(`not a number: ${text}`);
  return f;
}

export function binary(op: BinaryOperation, a: string, b: string): string | undefined {
  const x = small(a);
  const y = small(b);
  if (x !== undefined && y !== undefined) {
    switch (op) {
      case 'plus':
        return String(x + y);
      case 'minus':
        return String(x - y);
      case 'mul':
        return String(x * y);
      case 'rem':
        return y === 0n ? undefined : String(x % y);
      case 'div':
        break; // always a float quotient
    }
  }
  if (op === 'plus' || op === 'minus' || op === 'mul') {
    // Integers whose result fits an int64 are exact at 64 bits, and the shortest text of an exact
    // integer below 2^63 is its digits: Go's float path prints what BigInt computes. Not a zero,
    // which keeps a sign there (0 * -5 is -0).
    const x = int64(a);
    const y = int64(b);
    if (x !== undefined && y !== undefined) {
      const r = op === 'plus' ? x + y : op === 'minus' ? x - y : x * y;
      if (r !== 0n && r >= INT64_MIN && r <= INT64_MAX) return String(r);
    }
  }
  switch (op) {
    case 'plus':
      return numberText(add(float(a), float(b)));
    case 'minus':
      return numberText(sub(float(a), float(b)));
    case 'mul':
      return numberText(mul(float(a), float(b)));
    case 'div': {
      const divisor = float(b);
      return isZero(divisor) ? undefined : numberText(quo(float(a), divisor));
    }
    case 'rem': {
      // builtins.NumberToInt: the 64-bit float must be an integer; the divisor's zero test looks at
      // the low 64 bits only (big.Int.Int64).
      const n = float(a);
      const d = float(b);
      if (!isInt(n) || !isInt(d)) return undefined;
      const dividend = trunc(n);
      const divisor = trunc(d);
      if (BigInt.asIntN(64, divisor) === 0n) return undefined;
      return String(dividend % divisor);
    }
  }
}

const HALF = fromSmall(1, -1);
const ONE = fromSmall(1);

export function unary(op: UnaryOperation, a: string): string {
  const x = float(a);
  switch (op) {
    case 'abs':
      return numberText({ ...x, neg: false });
    case 'round':
      // Half away from zero, the ±0.5 rounded at the number's precision before truncating.
      return numberText(fromInt(trunc(x.neg ? sub(x, HALF) : add(x, HALF))));
    case 'ceil': {
      const f = fromInt(trunc(x));
      // As Go OPA writes it: a truncation to zero is not negative, so ceil(-0.5) is 1.
      return numberText(f.neg || cmp(x, f) === 0 ? f : add(f, ONE));
    }
    case 'floor': {
      const f = fromInt(trunc(x));
      // ... and floor(-0.5) is 0.
      return numberText(!f.neg || cmp(x, f) === 0 ? f : sub(f, ONE));
    }
  }
}

/** sum: integers (int64, wrapping as Go's int) add exactly; otherwise big.Float from NewFloat(0). */
export function sum(values: string[]): string {
  const ints = values.map(int64);
  if (ints.every((i) => i !== undefined)) return String(BigInt.asIntN(64, ints.reduce((s, i) => s + i, 0n)));
  let total = fromSmall(0);
  for (const value of values) total = add(total, float(value));
  return numberText(total);
}

/** product: always big.Float, from NewFloat(1). */
export function product(values: string[]): string {
  let total = fromSmall(1);
  for (const value of values) total = mul(total, float(value));
  return numberText(total);
}
