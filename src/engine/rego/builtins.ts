// Builtins that OPA's Wasm compiler does not implement natively (internal/compiler/wasm/wasm.go
// builtinsFunctions), written to give Go OPA's results. Only deterministic builtins that Gatekeeper
// policies plausibly call and that can be reproduced exactly are here; the host refuses to load a
// policy that needs any other (UnsupportedBuiltinsError).
//
// Gatekeeper evaluates without StrictBuiltinErrors, so when Go OPA's builtin returns an error the
// call is simply undefined (v1/topdown/eval.go collects the error and does not iterate). The
// implementations below throw BuiltinError where Go returns an error, and `hostBuiltins` turns that
// into "undefined". Anything else they throw is a Parapet limitation and surfaces as an evaluation
// error rather than a silently different answer.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { formatFloat } from '../go/format-float.js';
import { compileGoRegexp, goFindAll, goReplaceAll, goSplit } from './go-regexp.js';
import { goSprintf } from './go-sprintf.js';
import type { RegoValue } from './rego-value.js';
import { RegoResult, compareRegoValues, parseRegoValue, regoValueToText, regoValuesEqual, sortedEntries, sortedItems } from './rego-value.js';
import type { BuiltinImpl } from './wasm-policy.js';
import { yamlIsValid, yamlMarshal, yamlUnmarshal } from './yaml-builtins.js';

/** A Go OPA builtin error; under Gatekeeper's non-strict evaluation it makes the call undefined. */
export class BuiltinError extends Error {
  override name = 'BuiltinError';
}

type Impl = (args: RegoValue[]) => unknown;

function nonStrict(impl: Impl): BuiltinImpl {
  return (args) => {
    try {
      return impl(args);
    } catch (error) {
      // The YAML and regexp modules' errors are Go's builtin errors too (named so to avoid a cycle).
      if (error instanceof Error && error.name === 'BuiltinError') return undefined;
      throw error;
    }
  };
}

// --- operand helpers (v1/topdown/builtins/builtins.go)

function arg(args: RegoValue[], pos: number): RegoValue {
  const value = args[pos - 1];
  if (!value) throw new BuiltinError(`operand ${pos} is missing`);
  return value;
}

function typeErr(pos: number, got: RegoValue, ...expected: string[]): BuiltinError {
  const want = expected.length === 1 ? expected[0] : `one of {${expected.join(', ')}}`;
  return new BuiltinError(`operand ${pos} must be ${want} but got ${got.type}`);
}

function stringOperand(args: RegoValue[], pos: number): string {
  const value = arg(args, pos);
  if (value.type !== 'string') throw typeErr(pos, value, 'string');
  return value.value;
}

/** Members of an array or set that must all be strings (builtins.StringSliceOperand). */
function stringSliceOperand(value: RegoValue, pos: number): string[] {
  if (value.type !== 'array' && value.type !== 'set') throw typeErr(pos, value, 'array', 'set');
  return value.items.map((item) => {
    if (item.type !== 'string') throw new BuiltinError(`operand ${pos} must be ${value.type} of strings but got ${value.type} containing ${item.type}`);
    return item.value;
  });
}

function numberResult(text: string): RegoResult {
  return new RegoResult({ type: 'number', text });
}

function utf8(s: string): Buffer {
  return Buffer.from(s, 'utf8');
}

// --- sprintf

function sprintf(args: RegoValue[]): string {
  const format = stringOperand(args, 1);
  const values = arg(args, 2);
  if (values.type !== 'array') throw typeErr(2, values, 'array');
  return goSprintf(format, values.items);
}

// --- strings.any_prefix_match / strings.any_suffix_match (v1/topdown/strings.go anyAffixMatch)

function affixOperand(value: RegoValue, pos: number): string[] {
  if (value.type === 'string') return [value.value];
  if (value.type === 'array' || value.type === 'set') return stringSliceOperand(value, pos);
  throw typeErr(pos, value, 'string', 'set', 'array');
}

function anyAffixMatch(suffix: boolean): Impl {
  return (args) => {
    // Go checks the searched strings' types before the affixes'.
    const strs = affixOperand(arg(args, 1), 1);
    const affixes = affixOperand(arg(args, 2), 2);
    const match = suffix ? (s: string, a: string) => s.endsWith(a) : (s: string, a: string) => s.startsWith(a);
    return strs.some((s) => affixes.some((a) => match(s, a)));
  };
}

// --- strings.count, indexof_n

function stringsCount(args: RegoValue[]): number {
  const s = stringOperand(args, 1);
  const sub = stringOperand(args, 2);
  // Go's strings.Count counts the empty string once per rune boundary.
  if (sub === '') return [...s].length + 1;
  let count = 0;
  for (let i = s.indexOf(sub); i >= 0; i = s.indexOf(sub, i + sub.length)) count++;
  return count;
}

function indexOfN(args: RegoValue[]): number[] {
  const base = [...stringOperand(args, 1)];
  const search = [...stringOperand(args, 2)];
  if (search.length === 0) throw new BuiltinError('empty search character');
  // Positions are in runes and matches may overlap.
  const found: number[] = [];
  for (let i = 0; i + search.length <= base.length; i++) {
    if (search.every((ch, k) => base[i + k] === ch)) found.push(i);
  }
  return found;
}

// --- units.parse / units.parse_bytes (v1/topdown/parse_units.go, parse_bytes.go)

/** Splits "1.5Gi" into number and unit like Go OPA's extractNumAndUnit. */
function extractNumAndUnit(s: string, builtin: string): [num: string, unit: string] {
  const isDigit = (c: string | undefined) => c !== undefined && c >= '0' && c <= '9';
  let firstNonNum = -1;
  for (let idx = 0; idx < s.length; idx++) {
    const r = s[idx]!;
    if (!isDigit(r) && r !== '.' && r !== 'e' && r !== 'E' && r !== '+' && r !== '-') {
      firstNonNum = idx;
      break;
    }
    if (r === 'e' || r === 'E') {
      const next = s[idx + 1];
      if (idx === s.length - 1 || (!isDigit(next) && next !== '+' && next !== '-')) {
        firstNonNum = idx;
        break;
      }
      if (next === '+' || next === '-') idx++;
      let expEnd = idx + 1;
      while (expEnd < s.length && isDigit(s[expEnd])) expEnd++;
      if (expEnd - (idx + 1) > 6) throw new BuiltinError(`${builtin}: exponent too large`);
    }
  }
  if (firstNonNum === -1) return [s, ''];
  if (firstNonNum === 0) return ['', s];
  return [s.slice(0, firstNonNum), s.slice(firstNonNum)];
}

interface Rational {
  num: bigint;
  den: bigint; // > 0
}

/** The exact value of a decimal number as big.Rat.SetString and big.Float.SetString accept it here. */
function parseDecimalRational(text: string): Rational | undefined {
  const m = /^([-+]?)(\d*)(?:\.(\d*))?(?:[eE]([-+]?\d+))?$/.exec(text);
  if (!m || (m[2] ?? '') + (m[3] ?? '') === '') return undefined;
  const digits = BigInt((m[2] ?? '') + (m[3] ?? '') || '0');
  const exp = Number(m[4] ?? '0') - (m[3] ?? '').length;
  const signed = m[1] === '-' ? -digits : digits;
  return exp >= 0 ? { num: signed * 10n ** BigInt(exp), den: 1n } : { num: signed, den: 10n ** BigInt(-exp) };
}

function gcd(a: bigint, b: bigint): bigint {
  a = a < 0n ? -a : a;
  while (b !== 0n) [a, b] = [b, a % b];
  return a;
}

/** The exact value of a float64 as a fraction. */
function float64Rational(v: number): Rational {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, v);
  const bits = view.getBigUint64(0);
  const exp = Number((bits >> 52n) & 0x7ffn);
  const mant = (bits & ((1n << 52n) - 1n)) | (exp === 0 ? 0n : 1n << 52n);
  const e2 = (exp === 0 ? 1 : exp) - 1075;
  return e2 >= 0 ? { num: mant << BigInt(e2), den: 1n } : { num: mant, den: 1n << BigInt(-e2) };
}

/** big.Rat's FloatString(prec): rounded to nearest, halves away from zero. */
function ratFloatString(x: Rational, prec: number): string {
  const abs = x.num < 0n ? -x.num : x.num;
  let q = abs / x.den;
  let r = abs % x.den;
  const p = 10n ** BigInt(prec);
  r *= p;
  const r2 = r % x.den;
  r /= x.den;
  if (x.den <= 2n * r2) {
    r += 1n;
    if (r >= p) {
      q += 1n;
      r -= p;
    }
  }
  return `${x.num < 0n ? '-' : ''}${q}${prec > 0 ? '.' + r.toString().padStart(prec, '0') : ''}`;
}

const SI_UNITS: Record<string, bigint> = {
  '': 1n,
  k: 1000n,
  K: 1000n,
  M: 1000n ** 2n,
  g: 1000n ** 3n,
  G: 1000n ** 3n,
  t: 1000n ** 4n,
  T: 1000n ** 4n,
  p: 1000n ** 5n,
  P: 1000n ** 5n,
  e: 1000n ** 6n,
  E: 1000n ** 6n,
  ki: 1n << 10n,
  Ki: 1n << 10n,
  mi: 1n << 20n,
  Mi: 1n << 20n,
  gi: 1n << 30n,
  Gi: 1n << 30n,
  ti: 1n << 40n,
  Ti: 1n << 40n,
  pi: 1n << 50n,
  Pi: 1n << 50n,
  ei: 1n << 60n,
  Ei: 1n << 60n,
};

// Go OPA multiplies by the float64 nearest to 0.001 (big.Rat.SetFloat64), not by exactly 1/1000,
// which is why units.parse("1000m") is 1.0000000000 rather than 1.
const MILLI = float64Rational(0.001);

function unitsParse(args: RegoValue[]): RegoResult {
  const s = stringOperand(args, 1).replaceAll('"', '');
  if (s.includes(' ')) throw new BuiltinError('units.parse: spaces not allowed in resource strings');
  const [num, rawUnit] = extractNumAndUnit(s, 'units.parse');
  if (num === '') throw new BuiltinError('units.parse: no amount provided');
  // Only the letters after the first are case-insensitive, so "m" (milli) and "M" (mega) differ.
  const unit = rawUnit.length > 1 ? rawUnit[0] + rawUnit.slice(1).toLowerCase() : rawUnit;
  let factor: Rational;
  if (unit === 'm') factor = MILLI;
  else if (Object.hasOwn(SI_UNITS, unit)) factor = { num: SI_UNITS[unit]!, den: 1n };
  else throw new BuiltinError(`units.parse: unit ${unit} not recognized`);
  const amount = parseDecimalRational(num);
  if (!amount) throw new BuiltinError('units.parse: could not parse amount to a number');
  let value: Rational = { num: amount.num * factor.num, den: amount.den * factor.den };
  const g = gcd(value.num, value.den);
  value = { num: value.num / g, den: value.den / g };
  return numberResult(value.den === 1n ? value.num.toString() : ratFloatString(value, 10));
}

const BYTE_UNITS: Record<string, bigint> = {
  '': 1n,
  kb: 1000n,
  k: 1000n,
  kib: 1n << 10n,
  ki: 1n << 10n,
  mb: 1000n ** 2n,
  m: 1000n ** 2n,
  mib: 1n << 20n,
  mi: 1n << 20n,
  gb: 1000n ** 3n,
  g: 1000n ** 3n,
  gib: 1n << 30n,
  gi: 1n << 30n,
  tb: 1000n ** 4n,
  t: 1000n ** 4n,
  tib: 1n << 40n,
  ti: 1n << 40n,
  pb: 1000n ** 5n,
  p: 1000n ** 5n,
  pib: 1n << 50n,
  pi: 1n << 50n,
  eb: 1000n ** 6n,
  e: 1000n ** 6n,
  eib: 1n << 60n,
  ei: 1n << 60n,
};

function bitLength(n: bigint): number {
  return n === 0n ? 0 : n.toString(2).length;
}

/**
 * Rounds to a 64-bit mantissa, half to even, as big.Float does at its default precision. Exact for
 * every input whose decimal exponent stays within 5^55 (big.Float then rounds once); beyond that Go
 * rounds an approximate power of five first and may differ in the last bit.
 */
function roundToFloat64Mantissa(x: Rational): Rational {
  if (x.num === 0n) return x;
  const neg = x.num < 0n;
  const p = neg ? -x.num : x.num;
  // Choose s so that 2^63 <= p * 2^s / den < 2^64.
  let s = 64 - (bitLength(p) - bitLength(x.den));
  const scaled = (s2: number) => (s2 >= 0 ? [p << BigInt(s2), x.den] : [p, x.den << BigInt(-s2)]) as [bigint, bigint];
  let [n, d] = scaled(s);
  while (n / d >= 1n << 64n) [n, d] = scaled(--s);
  while (n / d < 1n << 63n) [n, d] = scaled(++s);
  let q = n / d;
  const rem = n % d;
  if (2n * rem > d || (2n * rem === d && (q & 1n) === 1n)) q += 1n;
  const signed = neg ? -q : q;
  return s >= 0 ? { num: signed, den: 1n << BigInt(s) } : { num: signed << BigInt(-s), den: 1n };
}

function unitsParseBytes(args: RegoValue[]): RegoResult {
  const s = stringOperand(args, 1).toLowerCase().replaceAll('"', '');
  if (s.includes(' ')) throw new BuiltinError('units.parse_bytes: spaces not allowed in resource strings');
  const [num, unit] = extractNumAndUnit(s, 'units.parse_bytes');
  if (num === '') throw new BuiltinError('units.parse_bytes: no byte amount provided');
  if (!Object.hasOwn(BYTE_UNITS, unit)) throw new BuiltinError(`units.parse_bytes: byte unit ${unit} not recognized`);
  const amount = parseDecimalRational(num);
  if (!amount) throw new BuiltinError('units.parse_bytes: could not parse byte amount to a number');
  const parsed = roundToFloat64Mantissa(amount);
  const product = roundToFloat64Mantissa({ num: parsed.num * BYTE_UNITS[unit]!, den: parsed.den });
  // big.Float.Int truncates towards zero; BigInt division does too.
  return numberResult((product.num / product.den).toString());
}

// --- semver.compare / semver.is_valid (internal/semver)

interface SemVer {
  major: bigint;
  minor: bigint;
  patch: bigint;
  preRelease: string;
}

const META_IDENTIFIER = /^[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*$/;

function parseSemVer(text: string): SemVer | undefined {
  let version = text.startsWith('v') ? text.slice(1) : text;
  const plus = version.indexOf('+');
  if (plus >= 0) {
    if (!META_IDENTIFIER.test(version.slice(plus + 1))) return undefined;
    version = version.slice(0, plus);
  }
  let preRelease = '';
  const dash = version.indexOf('-');
  if (dash >= 0) {
    preRelease = version.slice(dash + 1);
    if (!META_IDENTIFIER.test(preRelease)) return undefined;
    if (preRelease.split('.').some((id) => id.length > 1 && id[0] === '0' && /^\d+$/.test(id))) return undefined;
    version = version.slice(0, dash);
  }
  const parts = version.split('.');
  if (parts.length !== 3) return undefined;
  const numbers = parts.map((p) => {
    if (!/^(0|[1-9]\d*)$/.test(p)) return undefined;
    const n = BigInt(p);
    return n <= (1n << 63n) - 1n ? n : undefined;
  });
  if (numbers.some((n) => n === undefined)) return undefined;
  const [major, minor, patch] = numbers as [bigint, bigint, bigint];
  return { major, minor, patch, preRelease };
}

function cmp<T extends bigint | string>(a: T, b: T): number {
  return a === b ? 0 : a < b ? -1 : 1;
}

function compareSemVer(a: SemVer, b: SemVer): number {
  const c = cmp(a.major, b.major) || cmp(a.minor, b.minor) || cmp(a.patch, b.patch);
  if (c !== 0) return c;
  if (a.preRelease === b.preRelease) return 0;
  if (a.preRelease === '') return 1;
  if (b.preRelease === '') return -1;
  const xs = a.preRelease.split('.');
  const ys = b.preRelease.split('.');
  // Go's strconv.Atoi saturates at the int64 range on overflow, so huge numeric ids tie.
  const atoi = (s: string) => {
    const n = BigInt(s);
    return n > (1n << 63n) - 1n ? (1n << 63n) - 1n : n;
  };
  for (let i = 0; ; i++) {
    const x = xs[i] ?? '';
    const y = ys[i] ?? '';
    if (x === '' && y !== '') return -1;
    if (x !== '' && y === '') return 1;
    const xNum = /^\d+$/.test(x);
    const yNum = /^\d+$/.test(y);
    if (xNum !== yNum) return xNum ? -1 : 1;
    const c2 = xNum ? cmp(atoi(x), atoi(y)) : cmp(x, y);
    if (c2 !== 0) return c2;
    const moreX = i + 1 < xs.length;
    const moreY = i + 1 < ys.length;
    if (moreX !== moreY) return moreX ? 1 : -1;
    if (!moreX) return 0;
  }
}

function semverCompare(args: RegoValue[]): number {
  const a = stringOperand(args, 1);
  const b = stringOperand(args, 2);
  const x = parseSemVer(a);
  if (!x) throw new BuiltinError(`operand 1: string ${a} is not a valid SemVer`);
  const y = parseSemVer(b);
  if (!y) throw new BuiltinError(`operand 2: string ${b} is not a valid SemVer`);
  return compareSemVer(x, y);
}

function semverIsValid(args: RegoValue[]): boolean {
  const value = arg(args, 1);
  return value.type === 'string' && parseSemVer(value.value) !== undefined;
}

// --- object.subset (v1/topdown/subset.go)

function objectGet(object: Extract<RegoValue, { type: 'object' }>, key: RegoValue): RegoValue | undefined {
  const entries = sortedEntries(object);
  let lo = 0;
  let hi = entries.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const c = compareRegoValues(entries[mid]![0], key);
    if (c === 0) return entries[mid]![1];
    if (c < 0) lo = mid + 1;
    else hi = mid - 1;
  }
  return undefined;
}

function setContains(set: Extract<RegoValue, { type: 'set' }>, value: RegoValue): boolean {
  return set.items.some((item) => regoValuesEqual(item, value));
}

function isSubset(sup: RegoValue, sub: RegoValue): boolean | undefined {
  if (sup.type === 'object' && sub.type === 'object') {
    return sub.entries.every(([key, subValue]) => {
      const supValue = objectGet(sup, key);
      if (supValue === undefined) return false;
      if (regoValuesEqual(subValue, supValue)) return true;
      return isSubset(supValue, subValue) === true && supValue.type === subValue.type;
    });
  }
  if (sup.type === 'set' && sub.type === 'set') return sub.items.every((item) => setContains(sup, item));
  if (sup.type === 'array' && sub.type === 'array') {
    // A contiguous run of sup must equal sub.
    const n = sub.items.length;
    if (n > sup.items.length) return false;
    for (let start = 0; start + n <= sup.items.length; start++) {
      if (sub.items.every((item, k) => regoValuesEqual(sup.items[start + k]!, item))) return true;
    }
    return n === 0;
  }
  if (sup.type === 'array' && sub.type === 'set') {
    // Go counts each array element found in the set, duplicates included, and stops at zero
    // unmatched; an empty array therefore never contains even the empty set.
    let unmatched = sub.items.length;
    for (const item of sup.items) {
      if (setContains(sub, item)) unmatched--;
      if (unmatched === 0) return true;
    }
    return false;
  }
  return undefined;
}

function objectSubset(args: RegoValue[]): boolean {
  const result = isSubset(arg(args, 1), arg(args, 2));
  if (result === undefined) throw new BuiltinError('both arguments object.subset must be of the same type or array and set');
  return result;
}

// --- hashing and encoding

function hash(algorithm: string): Impl {
  return (args) => createHash(algorithm).update(utf8(stringOperand(args, 1))).digest('hex');
}

function hmac(algorithm: string): Impl {
  return (args) => {
    const message = utf8(stringOperand(args, 1));
    const key = utf8(stringOperand(args, 2));
    return createHmac(algorithm, key).update(message).digest('hex');
  };
}

function hmacEqual(args: RegoValue[]): boolean {
  const a = utf8(stringOperand(args, 1));
  const b = utf8(stringOperand(args, 2));
  return a.length === b.length && timingSafeEqual(a, b);
}

const utf8Decoder = new TextDecoder('utf-8', { fatal: true });

function hexDecode(args: RegoValue[]): string {
  const s = stringOperand(args, 1);
  if (s.length % 2 === 1 || !/^[0-9a-fA-F]*$/.test(s)) throw new BuiltinError('encoding/hex: invalid hex string');
  const bytes = Buffer.from(s, 'hex');
  try {
    return utf8Decoder.decode(bytes);
  } catch {
    // Go's strings hold any bytes; JS strings (and the JSON we hand the policy) cannot.
    throw new Error('hex.decode: the decoded bytes are not UTF-8, which Parapet cannot represent');
  }
}

function globQuoteMeta(args: RegoValue[]): string {
  return stringOperand(args, 1).replace(/[*?\\[\]{}]/g, '\\$&');
}

function trace(args: RegoValue[]): boolean {
  stringOperand(args, 1);
  return true;
}


// --- yaml.* (yaml-builtins.ts)

function yamlMarshalImpl(args: RegoValue[]): string {
  return yamlMarshal(arg(args, 1));
}

// --- regex.* (go-regexp.ts)

function regexSplit(args: RegoValue[]): string[] {
  const pattern = stringOperand(args, 1);
  return goSplit(compileGoRegexp(pattern), stringOperand(args, 2), pattern);
}

function regexFindN(args: RegoValue[]): string[] {
  const pattern = stringOperand(args, 1);
  const s = stringOperand(args, 2);
  const n = arg(args, 3);
  if (n.type !== 'number') throw typeErr(3, n, 'number');
  if (!/^-?\d+$/.test(n.text)) throw new BuiltinError(`operand 3 must be integer number but got floating-point number`);
  return goFindAll(compileGoRegexp(pattern), s, Number(n.text)).map((m) => m[0]);
}

function regexReplace(args: RegoValue[]): string {
  const s = stringOperand(args, 1);
  const pattern = stringOperand(args, 2);
  const value = stringOperand(args, 3);
  return goReplaceAll(compileGoRegexp(pattern), s, value);
}

// --- deprecated casts (v1/topdown/casts.go), still allowed in v0 templates

function castArray(args: RegoValue[]): RegoResult {
  const x = arg(args, 1);
  if (x.type === 'array') return new RegoResult(x);
  if (x.type === 'set') return new RegoResult({ type: 'array', items: sortedItems(x) });
  throw typeErr(1, x, 'array', 'set');
}

function castSet(args: RegoValue[]): RegoResult {
  const x = arg(args, 1);
  if (x.type === 'set') return new RegoResult(x);
  if (x.type === 'array') return new RegoResult({ type: 'set', items: x.items });
  throw typeErr(1, x, 'array', 'set');
}

function castAs(type: RegoValue['type']): Impl {
  return (args) => {
    const x = arg(args, 1);
    if (x.type !== type) throw typeErr(1, x, type);
    return new RegoResult(x);
  };
}

// --- numbers.range_step (v1/topdown/numbers.go)

function rangeStep(args: RegoValue[]): RegoResult {
  const ints = [1, 2, 3].map((pos) => {
    const v = arg(args, pos);
    if (v.type !== 'number') throw typeErr(pos, v, 'number');
    if (!/^-?\d+$/.test(v.text)) throw new BuiltinError(`numbers.range_step: operand ${pos} must be integer number but got floating-point number`);
    return BigInt(v.text);
  });
  const [x, y, step] = ints as [bigint, bigint, bigint];
  if (step <= 0n) throw new BuiltinError('numbers.range_step: step must be a positive integer');
  const items: RegoValue[] = [];
  if (x <= y) for (let i = x; i <= y; i += step) items.push({ type: 'number', text: i.toString() });
  else for (let i = x; i >= y; i -= step) items.push({ type: 'number', text: i.toString() });
  return new RegoResult({ type: 'array', items });
}

// --- urlquery.* (v1/topdown/encoding.go: Go's net/url)

function queryEscape(s: string): string {
  let out = '';
  for (const byte of utf8(s)) {
    const c = String.fromCharCode(byte);
    if (/[A-Za-z0-9\-_.~]/.test(c)) out += c;
    else if (c === ' ') out += '+';
    else out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

function queryUnescape(s: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === '%') {
      const hex = s.slice(i + 1, i + 3);
      if (!/^[0-9a-fA-F]{2}$/.test(hex)) throw new BuiltinError(`invalid URL escape ${JSON.stringify(s.slice(i, i + 3))}`);
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else if (c === '+') bytes.push(0x20);
    else bytes.push(...utf8(c));
  }
  try {
    return utf8Decoder.decode(new Uint8Array(bytes));
  } catch {
    throw new Error('urlquery.decode: the decoded bytes are not UTF-8, which Parapet cannot represent');
  }
}

function urlqueryEncodeObject(args: RegoValue[]): string {
  const object = arg(args, 1);
  if (object.type !== 'object') throw typeErr(1, object, 'object');
  const pairs: Array<[string, string[]]> = [];
  for (const [k, v] of object.entries) {
    if (k.type !== 'string') throw new BuiltinError('urlquery.encode_object: keys must be strings');
    if (v.type === 'string') pairs.push([k.value, [v.value]]);
    else if (v.type === 'array' || v.type === 'set') pairs.push([k.value, (v.type === 'set' ? sortedItems(v) : v.items).map((item) => {
      if (item.type !== 'string') throw new BuiltinError('urlquery.encode_object: values must be strings, arrays of strings or sets of strings');
      return item.value;
    })]);
    else throw new BuiltinError('urlquery.encode_object: values must be strings, arrays of strings or sets of strings');
  }
  // Go's url.Values.Encode sorts by key.
  pairs.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return pairs.flatMap(([k, vs]) => vs.map((v) => `${queryEscape(k)}=${queryEscape(v)}`)).join('&');
}

function urlqueryDecodeObject(args: RegoValue[]): RegoResult {
  const query = stringOperand(args, 1);
  const values = new Map<string, string[]>();
  for (const part of query.split('&')) {
    if (part === '') continue;
    if (part.includes(';')) throw new BuiltinError('invalid semicolon separator in query');
    const eq = part.indexOf('=');
    const key = queryUnescape(eq < 0 ? part : part.slice(0, eq));
    const value = queryUnescape(eq < 0 ? '' : part.slice(eq + 1));
    values.set(key, [...(values.get(key) ?? []), value]);
  }
  return new RegoResult({
    type: 'object',
    entries: [...values].map(([k, vs]) => [{ type: 'string', value: k }, { type: 'array', items: vs.map((v) => ({ type: 'string', value: v })) }]),
  });
}

// --- net.cidr_is_valid (Go's net.ParseCIDR)

function cidrIsValid(args: RegoValue[]): boolean {
  const value = arg(args, 1);
  if (value.type !== 'string') return false;
  const m = /^([^/]+)\/(\d{1,3})$/.exec(value.value);
  if (!m) return false;
  const bits = Number(m[2]);
  const ip = m[1]!;
  if (/^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/.test(ip)) return bits <= 32;
  return isIPv6(ip) && bits <= 128;
}

function isIPv6(ip: string): boolean {
  if (ip.includes('%')) return false;
  const halves = ip.split('::');
  if (halves.length > 2) return false;
  const groups = halves.flatMap((half) => (half === '' ? [] : half.split(':')));
  let count = 0;
  for (const [i, g] of groups.entries()) {
    if (/^[0-9a-fA-F]{1,4}$/.test(g)) count++;
    else if (i === groups.length - 1 && /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/.test(g)) count += 2;
    else return false;
  }
  return halves.length === 2 ? count < 8 : count === 8;
}

// --- time.* that need no time zone database (v1/topdown/time.go)

function timeNowNs(): RegoResult {
  // One value per evaluation in Go OPA; here per call, which only differs by nanoseconds.
  const ns = BigInt(Date.now()) * 1_000_000n;
  return numberResult(ns.toString());
}

const DURATION_UNITS: Record<string, bigint> = { ns: 1n, us: 1000n, 'µs': 1000n, 'μs': 1000n, ms: 1_000_000n, s: 1_000_000_000n, m: 60_000_000_000n, h: 3_600_000_000_000n };

const EXTENDED_HOURS: Record<string, number> = { d: 24, w: 7 * 24, y: 365 * 24 };

/**
 * OPA's parseExtendedDuration: `d`, `w` and `y` segments are rewritten to hours
 * (strconv.FormatFloat(v*coeff, 'f', -1)) and the result read by Go's time.ParseDuration.
 */
function parseDurationNs(args: RegoValue[]): RegoResult {
  const original = stringOperand(args, 1);
  if (original === '') throw new BuiltinError('time: invalid duration ""');
  if (!/[dwy]/.test(original)) return goParseDuration(original);
  const m = /^([-+]?)((?:(?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|μs|ms|s|m|h|d|w|y))+)$/.exec(original);
  if (!m) throw new BuiltinError(`time: invalid duration ${JSON.stringify(original)}`);
  const rewritten = m[2]!.replace(/(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h|d|w|y)/g, (segment, digits: string, unit: string) =>
    unit in EXTENDED_HOURS ? `${formatFloat(Number(digits) * EXTENDED_HOURS[unit]!, 'f', -1)}h` : segment,
  );
  return goParseDuration(m[1] + rewritten, original);
}

/** Go's time.ParseDuration, exactly: decimal fractions are truncated per unit as Go does. */
function goParseDuration(text: string, original = text): RegoResult {
  let s = text;
  const quoted = JSON.stringify(original);
  let neg = false;
  if (s[0] === '-' || s[0] === '+') {
    neg = s[0] === '-';
    s = s.slice(1);
  }
  if (s === '0') return numberResult('0');
  if (s === '') throw new BuiltinError(`time: invalid duration ${quoted}`);
  let total = 0n;
  while (s !== '') {
    const m = /^(\d*)(?:\.(\d*))?/.exec(s)!;
    if ((m[1] ?? '') === '' && (m[2] ?? '') === '') throw new BuiltinError(`time: invalid duration ${quoted}`);
    s = s.slice(m[0].length);
    const unit = /^[^\d.]+/.exec(s)?.[0];
    if (!unit) throw new BuiltinError(`time: missing unit in duration ${quoted}`);
    const factor = DURATION_UNITS[unit];
    if (factor === undefined) throw new BuiltinError(`time: unknown unit ${JSON.stringify(unit)} in duration ${quoted}`);
    s = s.slice(unit.length);
    let v = BigInt(m[1] || '0') * factor;
    const frac = m[2] ?? '';
    if (frac !== '') v += (BigInt(frac) * factor) / 10n ** BigInt(frac.length);
    total += v;
    if (total > (1n << 63n) - (neg ? 0n : 1n)) throw new BuiltinError(`time: invalid duration ${quoted}`);
  }
  return numberResult((neg ? -total : total).toString());
}

/** Go's time.Parse(time.RFC3339, s) to Unix nanoseconds. */
function parseRfc3339Ns(args: RegoValue[]): RegoResult {
  const s = stringOperand(args, 1);
  const m = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/.exec(s);
  if (!m) throw new BuiltinError(`parsing time ${JSON.stringify(s)} as "2006-01-02T15:04:05Z07:00": cannot parse`);
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const daysIn = new Date(Date.UTC(year, month, 0)).getUTCDate();
  if (month < 1 || month > 12 || day < 1 || day > daysIn || hour > 23 || minute > 59 || second > 59) {
    throw new BuiltinError(`parsing time ${JSON.stringify(s)}: out of range`);
  }
  const offsetMinutes = m[8] ? 0 : (m[9] === '-' ? -1 : 1) * (Number(m[10]) * 60 + Number(m[11]));
  if (!m[8] && (Number(m[10]) > 24 || Number(m[11]) > 59)) throw new BuiltinError(`parsing time ${JSON.stringify(s)}: time zone offset out of range`);
  const epochMs = Date.UTC(year, month - 1, day, hour, minute, second) - offsetMinutes * 60_000;
  // Date.UTC treats years 0-99 as 1900+; set the year explicitly.
  const date = new Date(epochMs);
  if (year < 100) date.setUTCFullYear(date.getUTCFullYear() - 1900);
  const ns = BigInt(date.getTime()) * 1_000_000n + BigInt((m[7] ?? '').padEnd(9, '0') || '0');
  // toSafeUnixNano: outside the int64 nanosecond range (1677-2262) the call fails.
  if (ns < -(1n << 63n) || ns > (1n << 63n) - 1n) throw new BuiltinError('time outside of valid range');
  return numberResult(ns.toString());
}

// --- net.lookup_ip_addr: Gatekeeper's pod asks the cluster's DNS; Parapet cannot know its answer and
// does not send names from a repository to a resolver, so the call is an error rather than a guess.

function lookupIpAddr(): never {
  throw new Error("Parapet does not resolve host names: the answer is the cluster's DNS's");
}

// --- opa.runtime: Gatekeeper's driver sets no runtime, so Go OPA answers {} (v1/topdown/runtime.go).

function opaRuntime(): Record<string, never> {
  return {};
}

const implementations: Record<string, Impl> = {
  'yaml.marshal': yamlMarshalImpl,
  'yaml.unmarshal': (args) => yamlUnmarshal(stringOperand(args, 1)),
  'yaml.is_valid': (args) => yamlIsValid(arg(args, 1)),
  'regex.split': regexSplit,
  'regex.find_n': regexFindN,
  'regex.replace': regexReplace,
  cast_array: castArray,
  cast_set: castSet,
  cast_string: castAs('string'),
  cast_boolean: castAs('boolean'),
  cast_null: castAs('null'),
  cast_object: castAs('object'),
  'numbers.range_step': rangeStep,
  'urlquery.encode': (args) => queryEscape(stringOperand(args, 1)),
  'urlquery.decode': (args) => queryUnescape(stringOperand(args, 1)),
  'urlquery.encode_object': urlqueryEncodeObject,
  'urlquery.decode_object': urlqueryDecodeObject,
  'net.cidr_is_valid': cidrIsValid,
  'time.now_ns': timeNowNs,
  'time.parse_duration_ns': parseDurationNs,
  'time.parse_rfc3339_ns': parseRfc3339Ns,
  'opa.runtime': opaRuntime,
  'net.lookup_ip_addr': lookupIpAddr,
  sprintf,
  'strings.any_prefix_match': anyAffixMatch(false),
  'strings.any_suffix_match': anyAffixMatch(true),
  'strings.count': stringsCount,
  indexof_n: indexOfN,
  'units.parse': unitsParse,
  'units.parse_bytes': unitsParseBytes,
  'semver.compare': semverCompare,
  'semver.is_valid': semverIsValid,
  'object.subset': objectSubset,
  'crypto.md5': hash('md5'),
  'crypto.sha1': hash('sha1'),
  'crypto.sha256': hash('sha256'),
  'crypto.hmac.md5': hmac('md5'),
  'crypto.hmac.sha1': hmac('sha1'),
  'crypto.hmac.sha256': hmac('sha256'),
  'crypto.hmac.sha512': hmac('sha512'),
  'crypto.hmac.equal': hmacEqual,
  'hex.encode': (args) => utf8(stringOperand(args, 1)).toString('hex'),
  'hex.decode': hexDecode,
  'base64url.encode_no_pad': (args) => utf8(stringOperand(args, 1)).toString('base64url'),
  'glob.quote_meta': globQuoteMeta,
  trace,
};

/**
 * The builtins Parapet supplies to Wasm policies, keyed by Rego name. Each returns what Go OPA
 * returns, or undefined where Go OPA's builtin fails (Gatekeeper's non-strict evaluation).
 */
export const hostBuiltins: Record<string, BuiltinImpl> = Object.fromEntries(
  Object.entries(implementations).map(([name, impl]) => [name, nonStrict(impl)]),
);

// --- Builtins run by Go OPA itself

/**
 * The builtins that run in the pinned parapet-cel helper, which links Gatekeeper and so the OPA the
 * cluster runs: Go's x509 and JOSE parsing, gqlparser, OPA's Rego parser, text/template, JSON Schema,
 * AWS signing, time zones and the rest, whose results no rewrite would reproduce exactly.
 */
export const GO_BUILTINS: readonly string[] = [
  'crypto.parse_private_keys',
  'crypto.x509.parse_and_verify_certificates',
  'crypto.x509.parse_and_verify_certificates_with_options',
  'crypto.x509.parse_certificate_request',
  'crypto.x509.parse_certificates',
  'crypto.x509.parse_keypair',
  'crypto.x509.parse_rsa_private_key',
  'graph.reachable_paths',
  'graphql.is_valid',
  'graphql.parse',
  'graphql.parse_and_verify',
  'graphql.parse_query',
  'graphql.parse_schema',
  'graphql.schema_is_valid',
  'io.jwt.decode',
  'io.jwt.decode_verify',
  'io.jwt.encode_sign',
  'io.jwt.encode_sign_raw',
  'io.jwt.verify_eddsa',
  'io.jwt.verify_es256',
  'io.jwt.verify_es384',
  'io.jwt.verify_es512',
  'io.jwt.verify_hs256',
  'io.jwt.verify_hs384',
  'io.jwt.verify_hs512',
  'io.jwt.verify_ps256',
  'io.jwt.verify_ps384',
  'io.jwt.verify_ps512',
  'io.jwt.verify_rs256',
  'io.jwt.verify_rs384',
  'io.jwt.verify_rs512',
  'json.marshal_with_options',
  'json.match_schema',
  'json.patch',
  'json.verify_schema',
  'net.cidr_contains_matches',
  'net.cidr_expand',
  'net.cidr_merge',
  'providers.aws.sign_req',
  'rand.intn',
  'rego.parse_module',
  'regex.globs_match',
  'regex.template_match',
  'strings.render_template',
  'time.add_date',
  'time.clock',
  'time.date',
  'time.diff',
  'time.format',
  'time.parse_ns',
  'time.weekday',
  'uri.is_valid',
  'uri.parse',
  'uuid.parse',
  'uuid.rfc4122',
];

/** Go OPA's answer to one call: the value as Rego text, undefined (its builtin error), or a failure. */
export interface GoBuiltinAnswer {
  value?: string;
  undefined?: boolean;
  /** Go OPA's error when the call is undefined. */
  reason?: string;
  /** The call could not be answered (the helper is missing, the call ran out of time). */
  error?: string;
}

/** Asks the helper synchronously; arguments are Rego value text. */
export type GoBuiltinCall = (name: string, args: string[]) => GoBuiltinAnswer;

/** The Go builtins of one worker, with the memo of one evaluation. */
export class GoBuiltins {
  readonly impls: Record<string, BuiltinImpl>;
  private memo = new Map<string, unknown>();

  constructor(call: GoBuiltinCall) {
    this.impls = Object.fromEntries(
      GO_BUILTINS.map((name): [string, BuiltinImpl] => [
        name,
        (args) => {
          const texts = args.map(regoValueToText);
          // Go OPA memoizes rand.intn and uuid.rfc4122 per query; for the deterministic rest
          // remembering a call only saves the round trip.
          const key = `${name}\u0000${texts.join('\u0000')}`;
          if (this.memo.has(key)) return this.memo.get(key);
          const answer = call(name, texts);
          if (answer.error !== undefined) throw new Error(answer.error);
          const result = answer.value === undefined ? undefined : new RegoResult(parseRegoValue(answer.value));
          this.memo.set(key, result);
          return result;
        },
      ]),
    );
  }

  /** A new evaluation (Go OPA's query): the calls of the previous one are forgotten. */
  newEvaluation(): void {
    this.memo.clear();
  }
}
