// Rego values as OPA's Wasm `opa_value_dump` prints them: JSON plus sets (`{1, 2}`, `set()`) and
// non-string object keys. Numbers keep their source text because Go OPA's sprintf decides between
// int and float formatting from it, and because Gatekeeper's messages print composite values with
// their numbers exactly as written (`1.0` stays `1.0`).
//
// Values are treated as immutable once built: comparison caches sorted views of objects and sets.
import { goQuote } from '../go/quote.js';
import { compareStrings } from '../go/strings.js';
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
