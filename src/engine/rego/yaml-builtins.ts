// OPA's yaml.marshal, yaml.unmarshal and yaml.is_valid as Gatekeeper's OPA (v1.17.1) runs them:
// sigs.k8s.io/yaml v1.6 over its go-yaml v2 fork. (The pinned opa v1.22 has moved to go-yaml v3,
// which indents sequences and reads `yes` as a string: the reference here is gator, not opa eval.)
// Marshal goes through JSON (so sets are arrays and object keys strings) and prints go-yaml v2's
// block style: keys in its "natural" order, sequences at their key's indentation, plain and
// single-quoted strings folded at spaces past column 80, strings quoted where YAML 1.1 would read
// something else. Unmarshal reads with go-yaml v2's YAML 1.1 resolver (yes/no/on/off/y/n, `0777`,
// `1_000`, merge keys) and hands the result over as JSON (numbers as Go's encoding/json prints them).
import type { Alias, Document, Node } from 'yaml';
import { yamlLibrary } from '../repo/yaml-file.js';
import { formatFloat } from '../go/format-float.js';
import { RegoResult, type RegoValue, regoValueToJson, sortedItems } from './rego-value.js';

/** A Go OPA builtin error (the call is undefined under Gatekeeper); builtins.ts re-exports it. */
export class YamlBuiltinError extends Error {
  override name = 'BuiltinError';
}

// --- marshal

interface JsonMap {
  map: Array<[string, JsonValue]>;
}
type JsonValue = null | boolean | { number: string } | string | JsonValue[] | JsonMap;

function toJsonValue(value: RegoValue): JsonValue {
  switch (value.type) {
    case 'null':
      return null;
    case 'boolean':
      return value.value;
    case 'number':
      return { number: value.text };
    case 'string':
      return value.value;
    case 'array':
      return value.items.map(toJsonValue);
    case 'set':
      return sortedItems(value).map(toJsonValue);
    case 'object': {
      // ast.JSON writes a non-string key as its JSON text.
      const map: Array<[string, JsonValue]> = [];
      for (const [k, v] of value.entries) {
        map.push([k.type === 'string' ? k.value : JSON.stringify(regoValueToJson(k)), toJsonValue(v)]);
      }
      return { map };
    }
  }
}

const isLetter = (c: string) => /\p{L}/u.test(c);
const isDigit = (c: string) => /\p{Nd}/u.test(c);

/** go-yaml v3's keyList.Less for string keys: runs of digits compare as numbers. */
export function yamlKeyLess(a: string, b: string): boolean {
  const ar = [...a];
  const br = [...b];
  let digits = false;
  for (let i = 0; i < ar.length && i < br.length; i++) {
    if (ar[i] === br[i]) {
      digits = isDigit(ar[i]!);
      continue;
    }
    const al = isLetter(ar[i]!);
    const bl = isLetter(br[i]!);
    if (al && bl) return ar[i]!.codePointAt(0)! < br[i]!.codePointAt(0)!;
    if (al || bl) return digits ? al : bl;
    let an = 0n;
    let bn = 0n;
    if (ar[i] === '0' || br[i] === '0') {
      for (let j = i - 1; j >= 0 && isDigit(ar[j]!); j--) {
        if (ar[j] !== '0') {
          an = 1n;
          bn = 1n;
          break;
        }
      }
    }
    let ai = i;
    for (; ai < ar.length && isDigit(ar[ai]!); ai++) an = an * 10n + BigInt(ar[ai]!.codePointAt(0)! - 48);
    let bi = i;
    for (; bi < br.length && isDigit(br[bi]!); bi++) bn = bn * 10n + BigInt(br[bi]!.codePointAt(0)! - 48);
    if (an !== bn) return an < bn;
    if (ai !== bi) return ai < bi;
    return ar[i]!.codePointAt(0)! < br[i]!.codePointAt(0)!;
  }
  return ar.length < br.length;
}

/** A JSON number as go-yaml prints the value sigs.k8s.io/yaml decoded it into (int64, uint64 or float64). */
function formatNumber(text: string): string {
  if (/^-?\d+$/.test(text)) {
    const n = BigInt(text);
    if (n >= -(1n << 63n) && n < 1n << 64n) return n.toString();
  }
  const f = Number(text);
  if (f === Infinity) return '.inf';
  if (f === -Infinity) return '-.inf';
  return formatFloat(f, 'g', -1);
}

const BASE60_FLOAT = /^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$/;

/** Whether go-yaml's resolver reads the plain scalar as something other than a string. */
function resolvesToNonString(s: string): boolean {
  // go-yaml v2 writes `<<` plain: its encoder does not treat the merge key as a non-string.
  const kind = resolvePlain(s).kind;
  return kind !== 'string' && kind !== 'merge';
}

/** go-yaml v3's analyze_scalar, reduced to what decides plain, single-quoted or double-quoted in block context. */
function scalarStyle(s: string): 'plain' | 'single' | 'double' {
  if (s === '') return 'double';
  if (s.startsWith('---') || s.startsWith('...')) return singleOrDouble(s);
  let blockIndicators = false;
  let special = false;
  const chars = [...s];
  let precededBySpace = true;
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i]!;
    const next = chars[i + 1];
    const followedBySpace = next === undefined || next === ' ' || next === '\t' || next === '\n' || next === '\r';
    if (i === 0) {
      if ('#,[]{}&*!|>\'"%@`'.includes(c)) blockIndicators = true;
      if ((c === '?' || c === ':') && followedBySpace) blockIndicators = true;
      if (c === '-' && followedBySpace) blockIndicators = true;
    } else {
      if (c === ':' && followedBySpace) blockIndicators = true;
      if (c === '#' && precededBySpace) blockIndicators = true;
    }
    const cp = c.codePointAt(0)!;
    if (!printable(cp)) special = true;
    precededBySpace = c === ' ' || c === '\t' || c === '\n';
  }
  if (special) return 'double';
  const leadingSpace = s[0] === ' ';
  const trailingSpace = s[s.length - 1] === ' ';
  if (blockIndicators || leadingSpace || trailingSpace) return 'single';
  return 'plain';
}

function singleOrDouble(s: string): 'single' | 'double' {
  return scalarStyle(s.replace(/^(---|\.\.\.)/, 'x')) === 'double' ? 'double' : 'single';
}

// go-yaml v2's short escapes; other characters it escapes as \xXX, \uXXXX or \UXXXXXXXX.
const SHORT_ESCAPES: Record<number, string> = {
  0x00: '0', 0x07: 'a', 0x08: 'b', 0x09: 't', 0x0a: 'n', 0x0b: 'v', 0x0c: 'f', 0x0d: 'r', 0x1b: 'e',
  0x22: '"', 0x5c: '\\', 0x85: 'N', 0xa0: '_', 0x2028: 'L', 0x2029: 'P',
};

/**
 * go-yaml v2's is_printable, on UTF-8 as it tests it: C1 controls (U+0085 too), the BOM, U+FFFE/FFFF
 * and everything beyond the BMP (four-byte sequences) are not.
 */
function printable(cp: number): boolean {
  return cp === 0x0a || (cp >= 0x20 && cp <= 0x7e) || (cp >= 0xa0 && cp <= 0xd7ff) || (cp >= 0xe000 && cp <= 0xfffd && cp !== 0xfeff);
}

const isBreak = (cp: number): boolean => cp === 0x0a || cp === 0x0d || cp === 0x85 || cp === 0x2028 || cp === 0x2029;

/**
 * go-yaml v2's write_double_quoted: escapes as it writes them, and, where breaks are allowed (not
 * in a key), a space past column 80 becomes a line break to the continuation's indentation (a
 * backslash keeps a following space). `column` is where the scalar starts.
 */
function quoteDouble(s: string, column = 0, continuation = 0, allowBreaks = true): string {
  const chars = [...s];
  let out = '"';
  let col = column + 1;
  let spaces = false;
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i]!;
    const cp = c.codePointAt(0)!;
    if (c === ' ') {
      if (allowBreaks && !spaces && col > BEST_WIDTH && i > 0 && i < chars.length - 1) {
        out += `\n${' '.repeat(continuation)}`;
        col = continuation;
        if (chars[i + 1] === ' ') {
          out += '\\';
          col++;
        }
      } else {
        out += c;
        col++;
      }
      spaces = true;
      continue;
    }
    spaces = false;
    if (printable(cp) && !isBreak(cp) && c !== '"' && c !== '\\') {
      out += c;
      col++;
      continue;
    }
    const width = cp <= 0xff ? 2 : cp <= 0xffff ? 4 : 8;
    const escape = SHORT_ESCAPES[cp] ?? `${width === 2 ? 'x' : width === 4 ? 'u' : 'U'}${cp.toString(16).toUpperCase().padStart(width, '0')}`;
    out += `\\${escape}`;
    col += 1 + escape.length;
  }
  return `${out}"`;
}

/** A string value; a key (`key`) is a simple key, which go-yaml never breaks across lines. */
function stringScalar(s: string, indent: number, column = 0, key = false): string {
  if (s.includes('\n')) {
    // A literal block, unless a space ends the string or precedes a line break, or a character
    // needs escaping (go-yaml then double-quotes).
    if (/ \n/.test(s) || s.endsWith(' ') || scalarStyle(s.replaceAll('\n', ' ')) === 'double') return quoteDouble(s, column, indent + 2);
    const trailing = /\n+$/.exec(s)?.[0].length ?? 0;
    const chomp = trailing === 0 ? '-' : trailing === 1 ? '' : '+';
    const indicator = s[0] === ' ' ? '2' : '';
    const pad = ' '.repeat(indent + 2);
    const body = (trailing === 0 ? s : s.slice(0, -1)).split('\n');
    return `|${indicator}${chomp}\n${body.map((line) => (line === '' ? '' : pad + line)).join('\n')}`;
  }
  if (BASE60_FLOAT.test(s) || resolvesToNonString(s)) {
    // go-yaml asks for double quotes; the emitter still picks single quotes when double are not needed.
    return quoteDouble(s, column, indent + 2, !key);
  }
  const style = scalarStyle(s);
  if (style === 'plain') return key ? s : fold(s, column, indent + 2);
  if (style === 'single') return key ? `'${s.replaceAll("'", "''")}'` : fold(`'${s.replaceAll("'", "''")}'`, column, indent + 2);
  return quoteDouble(s, column, indent + 2, !key);
}

const BEST_WIDTH = 80;

/**
 * go-yaml v2's write_plain_scalar / write_single_quoted: a space becomes a line break (and the
 * continuation's indentation) when the column has passed 80 and the next character is no space.
 * `column` is where the scalar starts.
 */
function fold(text: string, column: number, continuation: number): string {
  const chars = [...text];
  let out = '';
  let col = column;
  let spaces = false;
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i]!;
    if (c === ' ') {
      if (!spaces && col > BEST_WIDTH && i !== 0 && i !== chars.length - 1 && chars[i + 1] !== ' ') {
        out += `\n${' '.repeat(continuation)}`;
        col = continuation;
      } else {
        out += c;
        col++;
      }
      spaces = true;
    } else {
      out += c;
      col++;
      spaces = false;
    }
  }
  return out;
}

function isBlockCollection(v: JsonValue): boolean {
  if (Array.isArray(v)) return v.length > 0;
  return v !== null && typeof v === 'object' && 'map' in v && v.map.length > 0;
}

function scalarText(v: JsonValue, indent: number, column = 0): string {
  if (v === null) return 'null';
  if (typeof v === 'boolean') return String(v);
  if (typeof v === 'string') return stringScalar(v, indent, column);
  if (Array.isArray(v)) return '[]';
  if ('number' in v) return formatNumber(v.number);
  return '{}';
}

function emit(v: JsonValue, indent: number, out: string[]): void {
  const pad = ' '.repeat(indent);
  if (Array.isArray(v)) {
    for (const item of v) {
      if (isBlockCollection(item)) {
        const lines: string[] = [];
        emit(item, indent + 2, lines);
        out.push(`${pad}- ${lines[0]!.slice(indent + 2)}`, ...lines.slice(1));
      } else {
        out.push(`${pad}- ${scalarText(item, indent, indent + 2)}`);
      }
    }
    return;
  }
  const entries = [...(v as JsonMap).map].sort(([a], [b]) => (yamlKeyLess(a, b) ? -1 : yamlKeyLess(b, a) ? 1 : 0));
  for (const [key, value] of entries) {
    const keyText = key.includes('\n') ? quoteDouble(key, indent, 0, false) : stringScalar(key, indent, indent, true);
    if (isBlockCollection(value)) {
      out.push(`${pad}${keyText}:`);
      // go-yaml v2 does not indent a sequence under its key.
      emit(value, Array.isArray(value) ? indent : indent + 2, out);
    } else {
      out.push(`${pad}${keyText}: ${scalarText(value, indent, indent + [...keyText].length + 2)}`);
    }
  }
}

export function yamlMarshal(value: RegoValue): string {
  const json = toJsonValue(value);
  if (!isBlockCollection(json)) return `${scalarText(json, 0)}\n`;
  const lines: string[] = [];
  emit(json, 0, lines);
  return `${lines.join('\n')}\n`;
}

// --- unmarshal

type Resolved = { kind: 'timestamp' } | { kind: 'null' } | { kind: 'bool'; value: boolean } | { kind: 'int'; value: bigint } | { kind: 'float'; value: number } | { kind: 'string' } | { kind: 'merge' };

const FLOAT_PATTERN = /^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$/;

/** Go's strconv.ParseInt(s, 0, 64) (and ParseUint for the range above int64), underscores included. */
function goParseInt(s: string): bigint | undefined {
  const m = /^([-+]?)(0[xX][0-9a-fA-F_]+|0[bB][01_]+|0[oO][0-7_]+|0[0-7_]*|[1-9][0-9_]*)$/.exec(s);
  if (!m) return undefined;
  const body = m[2]!;
  let n: bigint;
  if (/^0[xX]/.test(body)) n = BigInt(body);
  else if (/^0[bB]/.test(body)) n = BigInt(body);
  else if (/^0[oO]/.test(body)) n = BigInt(body);
  else if (body.length > 1 && body[0] === '0') n = BigInt(`0o${body.slice(1)}`);
  else n = BigInt(body);
  const signed = m[1] === '-' ? -n : n;
  if (signed < -(1n << 63n) || signed >= 1n << 64n) return undefined;
  return signed;
}

/** go-yaml v3's resolve() for a plain scalar without a tag. */
function resolvePlain(s: string): Resolved {
  switch (s) {
    case '':
    case '~':
    case 'null':
    case 'Null':
    case 'NULL':
      return { kind: 'null' };
    case 'true':
    case 'True':
    case 'TRUE':
    case 'y':
    case 'Y':
    case 'yes':
    case 'Yes':
    case 'YES':
    case 'on':
    case 'On':
    case 'ON':
      return { kind: 'bool', value: true };
    case 'false':
    case 'False':
    case 'FALSE':
    case 'n':
    case 'N':
    case 'no':
    case 'No':
    case 'NO':
    case 'off':
    case 'Off':
    case 'OFF':
      return { kind: 'bool', value: false };
    case '.inf':
    case '.Inf':
    case '.INF':
    case '+.inf':
    case '+.Inf':
    case '+.INF':
      return { kind: 'float', value: Infinity };
    case '-.inf':
    case '-.Inf':
    case '-.INF':
      return { kind: 'float', value: -Infinity };
    case '.nan':
    case '.NaN':
    case '.NAN':
      return { kind: 'float', value: NaN };
    case '<<':
      return { kind: 'merge' };
  }
  const c = s[0]!;
  if (!/[-+.0-9]/.test(c)) return { kind: 'string' };
  // go-yaml drops every underscore before reading a number.
  const plain = s.replaceAll('_', '');
  const int = goParseInt(plain);
  if (int !== undefined) return { kind: 'int', value: int };
  // A float Go cannot hold (1e400) stays a string.
  if (FLOAT_PATTERN.test(plain) && Number.isFinite(Number(plain))) return { kind: 'float', value: Number(plain) };
  // A timestamp resolves as !!timestamp: marshal quotes it; unmarshal (sigs.k8s.io/yaml) keeps the text.
  if (/^\d{4}-\d{1,2}-\d{1,2}(?:(?:[Tt]|[ \t]+)\d{1,2}:\d{2}:\d{2}(?:\.\d*)?(?:[ \t]*(?:Z|[-+]\d{1,2}(?::\d{2})?))?)?$/.test(s)) return { kind: 'timestamp' };
  return { kind: 'string' };
}

/** A float64 as Go's encoding/json prints it. */
function goJsonFloat(f: number): string {
  const abs = Math.abs(f);
  if (abs !== 0 && (abs < 1e-6 || abs >= 1e21)) {
    return formatFloat(f, 'e', -1).replace(/e([-+])0(\d)$/, 'e$1$2');
  }
  return formatFloat(f, 'f', -1);
}

function fail(message: string): never {
  throw new YamlBuiltinError(message);
}

function toRego(node: Node | null, doc: Document, seen: Set<Node>): RegoValue {
  if (node === null) return { type: 'null' };
  const { isAlias, isMap, isScalar, isSeq } = yamlLibrary();
  if (isAlias(node)) {
    const target = (node as Alias).resolve(doc);
    if (!target) fail('unknown anchor');
    if (seen.has(target as Node)) fail('anchor refers to itself');
    seen.add(target as Node);
    const value = toRego(target as Node, doc, seen);
    seen.delete(target as Node);
    return value;
  }
  if (isScalar(node)) {
    const text = typeof node.source === 'string' ? node.source : String(node.value);
    const tag = node.tag;
    if (tag === 'tag:yaml.org,2002:str' || (node.type !== 'PLAIN' && tag === undefined)) return { type: 'string', value: String(node.value) };
    const resolved = resolvePlain(text);
    if (tag === 'tag:yaml.org,2002:binary') return { type: 'string', value: Buffer.from(text.replace(/\s+/g, ''), 'base64').toString('latin1') };
    switch (resolved.kind) {
      case 'null':
        return { type: 'null' };
      case 'bool':
        return { type: 'boolean', value: resolved.value };
      case 'int':
        return { type: 'number', text: resolved.value.toString() };
      case 'float':
        if (!Number.isFinite(resolved.value)) fail(`json: unsupported value: ${resolved.value}`);
        return { type: 'number', text: goJsonFloat(resolved.value) };
      default:
        return { type: 'string', value: text };
    }
  }
  if (isSeq(node)) return { type: 'array', items: node.items.map((item) => toRego(item as Node, doc, seen)) };
  if (isMap(node)) {
    const entries = new Map<string, RegoValue>();
    const merged = new Map<string, RegoValue>();
    for (const pair of node.items) {
      const keyNode = pair.key as Node | null;
      if (keyNode && isScalar(keyNode) && keyNode.type === 'PLAIN' && keyNode.source === '<<') {
        const sources = toRego(pair.value as Node, doc, seen);
        const list = sources.type === 'array' ? sources.items : [sources];
        for (const source of list) {
          if (source.type !== 'object') fail('map merge requires map or sequence of maps as the value');
          for (const [k, v] of source.entries) if (!merged.has((k as { value: string }).value)) merged.set((k as { value: string }).value, v);
        }
        continue;
      }
      // A repeated key: the last value wins, as sigs.k8s.io/yaml reads it.
      const key = keyText(toRego(keyNode, doc, seen));
      entries.delete(key);
      entries.set(key, toRego(pair.value as Node, doc, seen));
    }
    for (const [k, v] of merged) if (!entries.has(k)) entries.set(k, v);
    return { type: 'object', entries: [...entries].map(([k, v]) => [{ type: 'string', value: k }, v]) };
  }
  fail('unsupported YAML node');
}

/** sigs.k8s.io/yaml turns non-string keys into their text (ints, floats as Go formats them, bools, null). */
function keyText(key: RegoValue): string {
  switch (key.type) {
    case 'string':
      return key.value;
    case 'number':
      return /^-?\d+$/.test(key.text) ? key.text : formatFloat(Number(key.text), 'g', -1);
    case 'boolean':
      return String(key.value);
    case 'null':
      return 'null';
    default:
      fail('json: unsupported type: map key');
  }
}

function parseYaml(text: string): RegoValue {
  const doc = yamlLibrary().parseDocument(text, { version: '1.2', schema: 'failsafe', uniqueKeys: false, merge: false, prettyErrors: false, strict: false });
  if (doc.errors.length > 0) fail(`yaml: ${doc.errors[0]!.message}`);
  return toRego(doc.contents as Node | null, doc, new Set());
}

export function yamlUnmarshal(text: string): RegoResult {
  return new RegoResult(parseYaml(text));
}

export function yamlIsValid(value: RegoValue): boolean {
  if (value.type !== 'string') return false;
  try {
    parseYaml(value.value);
    return true;
  } catch {
    return false;
  }
}
