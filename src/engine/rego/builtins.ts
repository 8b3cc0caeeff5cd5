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
import { goSprintf } from './go-sprintf.js';
import type { RegoValue } from './rego-value.js';
import { RegoResult, compareRegoValues, regoValuesEqual, sortedEntries } from './rego-value.js';
import type { BuiltinImpl } from './wasm-policy.js';

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
      if (error instanceof BuiltinError) return undefined;
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

const implementations: Record<string, Impl> = {
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
