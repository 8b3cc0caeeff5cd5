// Rego values as OPA's Wasm `opa_value_dump` prints them: JSON plus sets (`{1, 2}`, `set()`) and
// non-string object keys. Numbers keep their source text because Go OPA's sprintf decides between
// int and float formatting from it, and because Gatekeeper's messages print composite values with
// their numbers exactly as written (`1.0` stays `1.0`).
//
// Values are treated as immutable once built: comparison caches sorted views of objects and sets.
export type RegoValue =
  | { type: 'null' }
  | { type: 'boolean'; value: boolean }
  | { type: 'number'; text: string }
  | { type: 'string'; value: string }
  | { type: 'array'; items: RegoValue[] }
  | { type: 'set'; items: RegoValue[] }
  | { type: 'object'; entries: Array<[RegoValue, RegoValue]> };

/**
 * A builtin result that JSON cannot carry exactly: sets, non-string object keys, or number text that
 * must survive verbatim (Go OPA's `units.parse("1m")` is `0.0010000000`, not `0.001`). The Wasm host
 * hands it to the policy through `opa_value_parse` instead of `opa_json_parse`.
 */
export class RegoResult {
  constructor(readonly value: RegoValue) {}
}

export class RegoParseError extends Error {
  override name = 'RegoParseError';
}

// ---------------------------------------------------------------------------------------------
// Parsing

const NUMBER_PATTERN = /^[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?$/;

/**
 * Parses Rego value text in the `opa_value_dump` format (also accepts Go OPA's `Value.String()`
 * output for the JSON-escaped subset of strings). Duplicate set members and object keys are merged
 * the way Go OPA builds a literal: the first member or key is kept, the last value of a key wins.
 */
export function parseRegoValue(text: string): RegoValue {
  const parser = new Parser(text);
  const value = parser.value();
  parser.skipSpace();
  if (!parser.atEnd()) parser.fail('unexpected text after the value');
  return value;
}

class Parser {
  private pos = 0;
  constructor(private readonly text: string) {}

  atEnd(): boolean {
    return this.pos >= this.text.length;
  }

  fail(reason: string): never {
    const excerpt = this.text.slice(Math.max(0, this.pos - 20), this.pos + 20);
    throw new RegoParseError(`invalid Rego value at offset ${this.pos} (${reason}): …${excerpt}…`);
  }

  skipSpace(): void {
    while (this.pos < this.text.length) {
      const c = this.text.charCodeAt(this.pos);
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) this.pos++;
      else break;
    }
  }

  private expect(ch: string): void {
    this.skipSpace();
    if (this.text[this.pos] !== ch) this.fail(`expected ${JSON.stringify(ch)}`);
    this.pos++;
  }

  private startsWithWord(word: string): boolean {
    if (!this.text.startsWith(word, this.pos)) return false;
    const next = this.text[this.pos + word.length];
    return next === undefined || !/[A-Za-z0-9_]/.test(next);
  }

  value(): RegoValue {
    this.skipSpace();
    const c = this.text[this.pos];
    switch (c) {
      case '"':
        return { type: 'string', value: this.string() };
      case '[':
        return this.array();
      case '{':
        return this.objectOrSet();
      case undefined:
        return this.fail('unexpected end of text');
    }
    if (this.startsWithWord('null')) {
      this.pos += 4;
      return { type: 'null' };
    }
    if (this.startsWithWord('true')) {
      this.pos += 4;
      return { type: 'boolean', value: true };
    }
    if (this.startsWithWord('false')) {
      this.pos += 5;
      return { type: 'boolean', value: false };
    }
    if (this.text.startsWith('set()', this.pos)) {
      this.pos += 5;
      return { type: 'set', items: [] };
    }
    return this.number();
  }

  private number(): RegoValue {
    let end = this.pos;
    while (end < this.text.length && /[-+.\deE]/.test(this.text[end]!)) end++;
    const text = this.text.slice(this.pos, end);
    if (!NUMBER_PATTERN.test(text)) this.fail('expected a value');
    this.pos += text.length;
    return { type: 'number', text };
  }

  private string(): string {
    // Fast path: no escapes.
    const start = ++this.pos;
    const text = this.text;
    let i = start;
    for (; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c === 0x22) {
        this.pos = i + 1;
        return text.slice(start, i);
      }
      if (c === 0x5c) break;
    }
    let out = text.slice(start, i);
    while (i < text.length) {
      const c = text[i]!;
      if (c === '"') {
        this.pos = i + 1;
        return out;
      }
      if (c !== '\\') {
        out += c;
        i++;
        continue;
      }
      const e = text[i + 1];
      i += 2;
      switch (e) {
        case '"':
        case '\\':
        case '/':
          out += e;
          break;
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'n':
          out += '\n';
          break;
        case 'r':
          out += '\r';
          break;
        case 't':
          out += '\t';
          break;
        case 'u': {
          const hex = text.slice(i, i + 4);
          if (!/^[0-9a-fA-F]{4}$/.test(hex)) {
            this.pos = i;
            this.fail('bad \\u escape');
          }
          out += String.fromCharCode(parseInt(hex, 16));
          i += 4;
          break;
        }
        default:
          this.pos = i - 2;
          this.fail('bad escape');
      }
    }
    this.pos = i;
    return this.fail('unterminated string');
  }

  private array(): RegoValue {
    this.pos++;
    const items: RegoValue[] = [];
    this.skipSpace();
    if (this.text[this.pos] === ']') {
      this.pos++;
      return { type: 'array', items };
    }
    for (;;) {
      items.push(this.value());
      this.skipSpace();
      const c = this.text[this.pos++];
      if (c === ']') return { type: 'array', items };
      if (c !== ',') {
        this.pos--;
        this.fail('expected "," or "]"');
      }
    }
  }

  private objectOrSet(): RegoValue {
    this.pos++;
    this.skipSpace();
    if (this.text[this.pos] === '}') {
      this.pos++;
      return { type: 'object', entries: [] };
    }
    const first = this.value();
    this.skipSpace();
    if (this.text[this.pos] === ':') {
      this.pos++;
      const entries: Array<[RegoValue, RegoValue]> = [[first, this.value()]];
      for (;;) {
        this.skipSpace();
        const c = this.text[this.pos++];
        if (c === '}') return { type: 'object', entries: mergeEntries(entries) };
        if (c !== ',') {
          this.pos--;
          this.fail('expected "," or "}"');
        }
        const key = this.value();
        this.expect(':');
        entries.push([key, this.value()]);
      }
    }
    const items = [first];
    for (;;) {
      this.skipSpace();
      const c = this.text[this.pos++];
      if (c === '}') return { type: 'set', items: mergeItems(items) };
      if (c !== ',') {
        this.pos--;
        this.fail('expected "," or "}"');
      }
      items.push(this.value());
    }
  }
}

/** Indexes of `values` that survive when later equal values are dropped, in original order. */
function firstOfEqual(values: RegoValue[]): number[] | undefined {
  if (values.length < 2) return undefined;
  const order = values.map((_, i) => i);
  // Stable sort, so the first index of each run of equal values is the earliest one.
  order.sort((a, b) => compareRegoValues(values[a]!, values[b]!) || a - b);
  const keep: number[] = [order[0]!];
  for (let k = 1; k < order.length; k++) {
    if (compareRegoValues(values[order[k - 1]!]!, values[order[k]!]!) !== 0) keep.push(order[k]!);
  }
  if (keep.length === values.length) return undefined;
  return keep.sort((a, b) => a - b);
}

function mergeItems(items: RegoValue[]): RegoValue[] {
  const keep = firstOfEqual(items);
  return keep ? keep.map((i) => items[i]!) : items;
}

function mergeEntries(entries: Array<[RegoValue, RegoValue]>): Array<[RegoValue, RegoValue]> {
  const keep = firstOfEqual(entries.map(([k]) => k));
  if (!keep) return entries;
  return keep.map((i) => {
    const key = entries[i]![0];
    let value = entries[i]![1];
    for (let j = i + 1; j < entries.length; j++) {
      if (compareRegoValues(entries[j]![0], key) === 0) value = entries[j]![1];
    }
    return [key, value];
  });
}

// ---------------------------------------------------------------------------------------------
// JSON conversion

/**
 * Converts to a plain JSON-compatible JS value, as Go OPA's `ast.JSON` does: sets become arrays in
 * sorted order, non-string object keys become their JSON text (`1` → `"1"`, `[1]` → `"[1]"`).
 * Numbers become JS numbers (the nearest double, so integers beyond 2^53 and long decimals lose
 * exactness; callers that need exact numbers must keep the RegoValue). A number outside the double
 * range (`1e400`) has no JSON number at all and is returned as its text.
 */
export function regoValueToJson(value: RegoValue): unknown {
  switch (value.type) {
    case 'null':
      return null;
    case 'boolean':
      return value.value;
    case 'number': {
      const n = Number(value.text);
      return Number.isFinite(n) ? n : value.text;
    }
    case 'string':
      return value.value;
    case 'array':
      return value.items.map(regoValueToJson);
    case 'set':
      return sortedItems(value).map(regoValueToJson);
    case 'object': {
      const out: Record<string, unknown> = {};
      for (const [k, v] of value.entries) {
        const key = k.type === 'string' ? k.value : JSON.stringify(regoValueToJson(k));
        // Assigning `__proto__` through [] would set the prototype instead of a key.
        Object.defineProperty(out, key, { value: regoValueToJson(v), enumerable: true, writable: true, configurable: true });
      }
      return out;
    }
  }
}

/** The value as text `opa_value_parse` accepts: dump format, strings JSON-escaped, numbers verbatim. */
export function regoValueToText(value: RegoValue): string {
  return writeRegoValue(value, { quote: (s) => JSON.stringify(s), comma: ',', colon: ':', sorted: false });
}

interface TextStyle {
  quote: (s: string) => string;
  comma: string;
  colon: string;
  /** Go OPA prints sets and object keys in its value order. */
  sorted: boolean;
}

function writeRegoValue(value: RegoValue, style: TextStyle): string {
  const write = (v: RegoValue) => writeRegoValue(v, style);
  switch (value.type) {
    case 'null':
      return 'null';
    case 'boolean':
      return value.value ? 'true' : 'false';
    case 'number':
      return value.text;
    case 'string':
      return style.quote(value.value);
    case 'array':
      return `[${value.items.map(write).join(style.comma)}]`;
    case 'set':
      if (value.items.length === 0) return 'set()';
      return `{${(style.sorted ? sortedItems(value) : value.items).map(write).join(style.comma)}}`;
    case 'object':
      return `{${(style.sorted ? sortedEntries(value) : value.entries).map(([k, v]) => `${write(k)}${style.colon}${write(v)}`).join(style.comma)}}`;
  }
}

/** Builds a RegoValue from a JSON-compatible JS value (numbers via their shortest JS text). */
export function jsonToRegoValue(json: unknown): RegoValue {
  if (json === null || json === undefined) return { type: 'null' };
  switch (typeof json) {
    case 'boolean':
      return { type: 'boolean', value: json };
    case 'number':
      if (!Number.isFinite(json)) throw new TypeError(`${json} is not a JSON number`);
      return { type: 'number', text: String(json) };
    case 'bigint':
      return { type: 'number', text: json.toString() };
    case 'string':
      return { type: 'string', value: json };
    case 'object':
      if (Array.isArray(json)) return { type: 'array', items: json.map(jsonToRegoValue) };
      return {
        type: 'object',
        entries: Object.entries(json as Record<string, unknown>).map(([k, v]) => [{ type: 'string', value: k }, jsonToRegoValue(v)]),
      };
    default:
      throw new TypeError(`cannot convert ${typeof json} to a Rego value`);
  }
}

// ---------------------------------------------------------------------------------------------
// Ordering (Go OPA's ast.Compare)

const TYPE_ORDER: Record<RegoValue['type'], number> = {
  null: 0,
  boolean: 1,
  number: 2,
  string: 3,
  array: 4,
  object: 5,
  set: 6,
};

/**
 * Go OPA's `ast.Compare` total order: null < booleans < numbers < strings < arrays < objects < sets.
 * Numbers compare by exact decimal value (`1` equals `1.0`, big integers and long decimals are not
 * rounded); strings by UTF-8 bytes; arrays element by element, then by length; objects by their
 * key-sorted (key, value) pairs, then by size; sets by their sorted members, then by size.
 */
export function compareRegoValues(a: RegoValue, b: RegoValue): number {
  if (a.type !== b.type) return TYPE_ORDER[a.type] < TYPE_ORDER[b.type] ? -1 : 1;
  switch (a.type) {
    case 'null':
      return 0;
    case 'boolean': {
      const bv = (b as typeof a).value;
      return a.value === bv ? 0 : a.value ? 1 : -1;
    }
    case 'number':
      return compareNumberText(a.text, (b as typeof a).text);
    case 'string':
      return compareStrings(a.value, (b as typeof a).value);
    case 'array':
      return compareSequences(a.items, (b as typeof a).items);
    case 'set':
      return compareSequences(sortedItems(a), sortedItems(b as typeof a));
    case 'object': {
      const x = sortedEntries(a);
      const y = sortedEntries(b as typeof a);
      const n = Math.min(x.length, y.length);
      for (let i = 0; i < n; i++) {
        const c = compareRegoValues(x[i]![0], y[i]![0]) || compareRegoValues(x[i]![1], y[i]![1]);
        if (c !== 0) return c;
      }
      return Math.sign(x.length - y.length);
    }
  }
}

export function regoValuesEqual(a: RegoValue, b: RegoValue): boolean {
  return compareRegoValues(a, b) === 0;
}

function compareSequences(x: RegoValue[], y: RegoValue[]): number {
  const n = Math.min(x.length, y.length);
  for (let i = 0; i < n; i++) {
    const c = compareRegoValues(x[i]!, y[i]!);
    if (c !== 0) return c;
  }
  return Math.sign(x.length - y.length);
}

/** Go compares strings bytewise on UTF-8, which is code point order, not JS's UTF-16 unit order. */
export function compareStrings(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    // Units differ; only a surrogate against a unit above the surrogate block reorders.
    const xs = x >= 0xd800 && x <= 0xdfff;
    const ys = y >= 0xd800 && y <= 0xdfff;
    if (xs !== ys && (x >= 0xe000 || y >= 0xe000)) return xs ? 1 : -1;
    return x < y ? -1 : 1;
  }
  return Math.sign(a.length - b.length);
}

const sortedItemsCache = new WeakMap<RegoValue, RegoValue[]>();
const sortedEntriesCache = new WeakMap<RegoValue, Array<[RegoValue, RegoValue]>>();

/** A set's members in Go OPA's order (cached; the set must not be mutated afterwards). */
export function sortedItems(set: Extract<RegoValue, { type: 'set' }>): RegoValue[] {
  let sorted = sortedItemsCache.get(set);
  if (!sorted) {
    sorted = set.items.length < 2 ? set.items : [...set.items].sort(compareRegoValues);
    sortedItemsCache.set(set, sorted);
  }
  return sorted;
}

/** An object's entries ordered by key in Go OPA's order (cached; the object must not be mutated). */
export function sortedEntries(object: Extract<RegoValue, { type: 'object' }>): Array<[RegoValue, RegoValue]> {
  let sorted = sortedEntriesCache.get(object);
  if (!sorted) {
    sorted = object.entries.length < 2 ? object.entries : [...object.entries].sort((x, y) => compareRegoValues(x[0], y[0]));
    sortedEntriesCache.set(object, sorted);
  }
  return sorted;
}

/** A number's exact value as sign, significant digits (no leading or trailing zeros) and exponent: ±0.digits × 10^exp. */
interface DecimalParts {
  negative: boolean;
  digits: string;
  exponent: bigint;
}

function decimalParts(text: string): DecimalParts {
  const m = /^([-+]?)(\d*)(?:\.(\d*))?(?:[eE]([-+]?\d+))?$/.exec(text);
  if (!m) throw new RegoParseError(`invalid number ${JSON.stringify(text)}`);
  const intPart = m[2] ?? '';
  const fracPart = m[3] ?? '';
  let all = intPart + fracPart;
  let exponent = BigInt(intPart.length) + (m[4] ? BigInt(m[4]) : 0n);
  const lead = all.length - all.replace(/^0+/, '').length;
  all = all.slice(lead);
  exponent -= BigInt(lead);
  all = all.replace(/0+$/, '');
  if (all === '') return { negative: false, digits: '', exponent: 0n };
  return { negative: m[1] === '-', digits: all, exponent };
}

function compareNumberText(a: string, b: string): number {
  if (a === b) return 0;
  const x = decimalParts(a);
  const y = decimalParts(b);
  const xs = x.digits === '' ? 0 : x.negative ? -1 : 1;
  const ys = y.digits === '' ? 0 : y.negative ? -1 : 1;
  if (xs !== ys) return xs < ys ? -1 : 1;
  if (xs === 0) return 0;
  let magnitude: number;
  if (x.exponent !== y.exponent) magnitude = x.exponent < y.exponent ? -1 : 1;
  else magnitude = x.digits === y.digits ? 0 : x.digits < y.digits ? -1 : 1;
  return xs < 0 ? -magnitude : magnitude;
}

// ---------------------------------------------------------------------------------------------
// Go OPA's Value.String()

/**
 * The value's text exactly as Go OPA's `Value.String()` prints it (what `sprintf` shows for
 * composites, booleans and null): sets and object keys sorted, `set()` for the empty set, `", "` and
 * `": "` separators, strings quoted like Go's `strconv.Quote`, numbers as their original text.
 */
export function formatRegoValue(value: RegoValue): string {
  return writeRegoValue(value, { quote: (s) => goQuote(s), comma: ', ', colon: ': ', sorted: true });
}

const HEX = '0123456789abcdef';

/**
 * Go's `strconv.Quote` (or `QuoteToASCII` with `asciiOnly`, or `QuoteRune`-style escaping with
 * `quote` = `'`). A lone UTF-16 surrogate stands for U+FFFD, which is what Go's JSON decoding makes of
 * one.
 */
export function goQuote(s: string, asciiOnly = false, quote: '"' | "'" = '"'): string {
  let out = quote;
  for (const ch of s) {
    out += goEscapeRune(ch.codePointAt(0)!, quote, asciiOnly);
  }
  return out + quote;
}

/** Go's `strconv.appendEscapedRune` for one code point (no surrounding quotes). */
export function goEscapeRune(cp: number, quote: string, asciiOnly: boolean): string {
  if (cp >= 0xd800 && cp <= 0xdfff) cp = 0xfffd;
  if (cp === quote.charCodeAt(0) || cp === 0x5c) return '\\' + String.fromCharCode(cp);
  if (asciiOnly) {
    if (cp < 0x80 && goIsPrint(cp)) return String.fromCharCode(cp);
  } else if (goIsPrint(cp)) {
    return String.fromCodePoint(cp);
  }
  switch (cp) {
    case 0x07:
      return '\\a';
    case 0x08:
      return '\\b';
    case 0x0c:
      return '\\f';
    case 0x0a:
      return '\\n';
    case 0x0d:
      return '\\r';
    case 0x09:
      return '\\t';
    case 0x0b:
      return '\\v';
  }
  if (cp < 0x20 || cp === 0x7f) return '\\x' + HEX[cp >> 4] + HEX[cp & 0xf];
  if (cp > 0x10ffff) cp = 0xfffd;
  if (cp < 0x10000) return '\\u' + cp.toString(16).padStart(4, '0');
  return '\\U' + cp.toString(16).padStart(8, '0');
}

let printRanges: Uint32Array | undefined;

/**
 * Go's `strconv.IsPrint` (letters, marks, numbers, punctuation, symbols and ASCII space, by Go's
 * Unicode 15.0 tables). The table is embedded rather than derived from JS `\p{…}` classes because
 * those follow the Node.js build's Unicode version and would drift from Go's.
 */
export function goIsPrint(cp: number): boolean {
  if (cp >= 0x20 && cp < 0x7f) return true;
  if (cp < 0xa1) return false;
  if (!printRanges) printRanges = decodePrintRanges();
  // Binary search for the last range starting at or before cp.
  let lo = 0;
  let hi = printRanges.length / 2 - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (printRanges[mid * 2]! <= cp) lo = mid;
    else hi = mid - 1;
  }
  return printRanges[lo * 2]! <= cp && cp <= printRanges[lo * 2 + 1]!;
}

function decodePrintRanges(): Uint32Array {
  const parts = GO_PRINT_RANGES.split(',');
  const ranges = new Uint32Array(parts.length * 2);
  let prev = 0;
  parts.forEach((part, i) => {
    const [gap, len] = part.split('.');
    const start = prev + parseInt(gap!, 36);
    const end = start + parseInt(len!, 36);
    ranges[i * 2] = start;
    ranges[i * 2 + 1] = end;
    prev = end;
  });
  return ranges;
}

// The code point ranges for which Go 1.26's strconv.IsPrint is true, generated by iterating over all
// runes: each entry is "<gap from the previous range's end>.<range length - 1>", both base 36.
const GO_PRINT_RANGES =
  "w.2m,z.b,2.jt,3.5,5.6,2.0,2.j,2.b0,2.11,3.1d,3.2,2.1i,9.q,5.5,i.l,2.5b,2.1b,3.1m,3.2s,f.1m,3.1c,3.e," +
  "2.r,3.0,2.a,6.u,a.21,2.4g,2.7,3.1,3.l,2.6,2.0,4.3,3.8,3.1,3.3,9.0,5.1,2.4,3.o,3.2,2.5,5.1,3.l,2.6,2." +
  "1,2.1,2.1,3.0,2.4,5.1,3.2,4.0,8.3,2.0,8.g,b.2,2.8,2.2,2.l,2.6,2.1,2.4,3.9,2.2,2.2,3.0,g.3,3.b,8.6,2." +
  "2,2.7,3.1,3.l,2.6,2.1,2.4,3.8,3.1,3.2,8.2,5.1,2.4,3.h,b.1,2.5,4.2,2.3,4.1,2.0,2.1,4.1,4.2,4.b,5.4,4." +
  "2,2.3,3.0,7.0,f.k,6.c,2.2,2.m,2.f,3.8,2.2,2.3,8.1,2.2,3.0,3.3,3.9,8.l,2.2,2.m,2.9,2.4,3.8,2.2,2.3,8." +
  "1,7.1,2.3,3.9,2.2,d.c,2.2,2.1e,2.2,2.5,5.f,3.p,2.2,2.h,4.n,2.8,2.0,3.6,4.0,5.5,2.0,2.7,7.9,3.2,d.1l," +
  "5.s,12.1,2.0,2.4,2.n,2.0,2.m,3.4,2.0,2.6,2.9,3.3,x.1z,2.z,5.12,2.z,2.e,2.c,12.5h,2.0,6.0,3.ag,2.3,3." +
  "6,2.0,2.3,3.14,2.3,3.w,2.3,3.6,2.0,2.3,3.e,2.1k,2.3,3.1u,3.v,4.p,7.2d,3.5,3.hr,2.r,4.2g,8.l,a.n,a.j," +
  "d.c,2.2,2.1,d.2l,3.9,7.9,7.d,2.a,7.2g,8.16,6.1x,b.u,2.b,5.b,5.0,4.15,3.4,c.17,5.p,7.a,4.1p,3.1s,2.s," +
  "3.a,7.9,7.d,3.u,1e.24,4.1a,2.37,9.1n,4.e,4.1n,8.16,3.a,9.16,6.et,3.5,3.11,3.5,3.7,2.0,2.0,2.0,2.u,3." +
  "1g,2.e,2.d,3.5,2.i,3.2,2.8,i.n,9.1a,i.1,3.q,2.c,4.w,g.w,g.3v,5.ie,q.a,m.1eb,3.v,2.9o,6.18,2.0,6.0,3." +
  "1j,8.1,f.n,a.6,2.6,2.6,2.6,2.6,2.6,2.6,2.6,2.3h,z.p,2.2g,d.5x,r.b,6.1q,2.2d,3.2u,6.16,2.2l,2.2b,d.1a" +
  ",2.mlo,4.1i,a.9n,l.53,9.5m,6.1,2.0,2.4,p.1m,4.9,7.1j,9.1x,9.b,7.37,c.t,4.25,2.a,5.w,2.1i,a.d,3.9,3.2" +
  "u,p.r,b.5,3.5,3.5,a.6,2.6,2.1n,5.3h,3.9,7.8mb,d.m,5.1c,6it.a5,3.2x,13.6,d.4,6.p,2.4,2.0,2.1,2.1,2.3g" +
  ",h.cc,3.1h,8.0,x.15,7.1e,2.i,2.3,5.4,2.3q,5.59,4.5,3.5,3.5,3.2,4.6,2.6,e.1,3.b,2.p,2.i,2.1,2.e,3.d,z" +
  ".3e,6.2,5.18,4.2f,2.c,4.0,1c.19,3n.s,4.1c,g.r,5.z,a.t,6.16,6.t,2.10,5.d,17.4d,3.9,7.z,5.z,5.13,9.1f," +
  "c.b,2.e,2.6,2.1,2.a,2.e,2.6,2.1,1w.8m,a.l,b.7,p.5,2.15,2.8,1y.5,3.0,2.17,2.1,4.0,3.m,2.1z,9.8,1d.i,2" +
  ".1,6.w,4.q,6.0,1t.1j,5.j,3.1d,2.1,6.7,2.2,2.s,3.2,5.9,8.8,8.1r,x.12,5.b,a.1h,4.s,3.q,6.p,8.3,d.6,29." +
  "20,1k.1e,e.1e,8.19,9.9,87.u,2.15,2.2,3.1,24.16,9.15,n.p,13.r,l.m,a.25,5.z,a.1p,2.4,e.o,8.9,7.1g,2.h," +
  "9.12,a.2n,2.j,c.h,2.1a,1r.6,2.0,2.3,2.e,2.a,7.1m,6.9,7.3,2.7,3.1,3.l,2.6,2.1,2.4,2.9,3.1,3.2,3.0,7.0" +
  ",6.6,3.6,4.4,3w.2j,2.4,v.1z,9.9,4n.1h,3.11,z.1w,c.9,7.c,k.1l,7.9,1j.q,3.e,5.m,56.1n,2t.2a,d.7,3.0,3." +
  "7,2.1,2.t,2.1,3.b,a.9,1z.7,3.19,3.a,s.1z,9.2a,e.20,8.9,6v.8,2.18,2.d,b.s,4.v,3.l,2.d,22.6,2.1,2.17,4" +
  ".0,2.1,2.8,9.9,7.5,2.1,2.10,2.1,2.5,8.9,8n.o,8.g,2.14,4.r,2f.0,g.1d,e.pm,2v.32,2.4,c.5f,219.2q,e.tr," +
  "h.l,33f.g6,6nu.fs,8.u,2.9,5.28,2.9,7.t,3.5,b.1x,b.9,2.6,2.k,6.i,j5.2i,2u.22,5.1k,8.g,1t.4,c.1,f.4qf," +
  "9.yd,17.8,6w8.3,2.6,2.1,2.82,g.0,u.2,3.0,f.3,9.az,1s5.2y,6.c,4.8,8.9,3.3,3mp.19,3.m,a.37,1p.6t,b.12," +
  "3.21,9.33,m.1x,3f.j,d.j,d.2e,a.o,3s.2c,2.1y,2.1,3.0,3.1,3.3,2.b,2.0,2.6,2.1s,2.3,3.7,2.6,2.r,2.3,2.4" +
  ",2.0,4.6,2.9f,3.83,3.jh,g.4,2.e,up.u,7.5,5y.6,2.g,3.6,2.1,2.4,6.1p,y.0,35.18,4.d,3.9,5.1,8x.u,i.1l,6" +
  ".0,cx.15,kn.6,2.3,2.1,2.e,2.5g,3.f,16.23,5.9,5.1,lu.1v,25.1o,5f.3,2.q,2.1,2.0,3.0,2.9,2.3,2.0,2.0,7." +
  "0,5.0,2.0,2.0,2.2,2.1,2.0,3.0,2.0,2.0,2.0,2.0,2.1,2.0,3.3,2.6,2.3,2.3,2.0,2.9,2.g,6.2,2.4,2.g,1h.1,7" +
  "j.17,5.2r,d.e,3.e,2.e,2.10,b.4t,1l.s,e.17,5.8,8.1,f.5,4b.rb,5.g,4.c,4.3a,5.2m,7.b,5.0,g.b,5.1j,9.9,7" +
  ".13,9.t,3.1,27.9f,d.d,3.c,4.8,8.19,2.6,9.d,5.8,8.8,8.42,2.1i,12.9,sn.wyn,x.37d,7.65,3.4g1,f.5rk,2e8." +
  "f1,15v.3t6,6.38f,f9e9.6n";
