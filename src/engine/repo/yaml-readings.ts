// A parsed YAML document read as each of the two decoders that stand between a repository and the
// cluster: sigs.k8s.io/yaml (go-yaml v2, YAML 1.1's scalars: kubectl, Argo CD) and kyaml (go-yaml v3,
// YAML 1.2's scalars: kustomize, so Flux). The `yaml` library only parses; every scalar is resolved
// here from its source text, with Go's rules, so the values are the ones the cluster receives.
// tools/yamlcheck decodes the same bytes with the Go libraries for the differential test.
import type { Document, Node, Scalar } from 'yaml';
import { formatFloat } from '../go/format-float.js';
import type { LineNode } from './yaml-file.js';
import { yamlLibrary } from './yaml-library.js';

export type YamlReading = 'sigs' | 'kyaml';

/** How a warning names the tools behind each reading. */
export const READERS: Record<YamlReading, string> = {
  sigs: 'sigs.k8s.io/yaml (kubectl, Argo CD)',
  kyaml: 'kyaml (Flux, kustomize)',
};

/** A document the reading refuses, at the offset of the node it stops at. */
export class ReadingError extends Error {
  constructor(
    readonly offset: number,
    message: string,
    /** An alias bomb: a limit, not a mistake. */
    readonly limit = false,
  ) {
    super(message);
  }
}

export interface DocumentReading {
  value: unknown;
  lines: LineNode;
  /**
   * sigs.k8s.io/yaml's reading only: false when the document holds nothing kyaml reads otherwise
   * (no YAML 1.1-only boolean, timestamp, tag, merge key, repeated or non-string key), so that the
   * other reading, which would be the same, need not be made.
   */
  mayDiffer?: boolean;
}

/** A place where the two readings disagree: the offset of the node and what to tell the author. */
export interface ReadingNote {
  offset: number;
  message: string;
}

const TAG = 'tag:yaml.org,2002:';

type Resolved =
  | { tag: 'str'; value: string }
  | { tag: 'bool'; value: boolean }
  | { tag: 'int' | 'float'; value: number }
  | { tag: 'null'; value: null }
  | { tag: 'merge'; value: string }
  | { tag: 'timestamp'; value: string; time: string };

const BOOLS_V2: Record<string, boolean> = {
  y: true, Y: true, yes: true, Yes: true, YES: true, true: true, True: true, TRUE: true, on: true, On: true, ON: true,
  n: false, N: false, no: false, No: false, NO: false, false: false, False: false, FALSE: false, off: false, Off: false, OFF: false,
};
const BOOLS_V3: Record<string, boolean> = { true: true, True: true, TRUE: true, false: false, False: false, FALSE: false };
const NULLS = new Set(['', '~', 'null', 'Null', 'NULL']);
const SPECIAL_FLOATS = new Set(['.nan', '.NaN', '.NAN', '.inf', '.Inf', '.INF', '+.inf', '+.Inf', '+.INF', '-.inf', '-.Inf', '-.INF']);
const YAML_STYLE_FLOAT = /^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$/;
const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;
const UINT64_MAX = (1n << 64n) - 1n;

/** Go's strconv.ParseInt(s, 0, 64) (then ParseUint) after go-yaml removed the underscores. */
function parseGoInt(s: string): number | undefined {
  const m = /^([+-]?)(0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+|0[0-7]*|[1-9][0-9]*)$/.exec(s);
  if (!m) return undefined;
  const body = m[2]!;
  let n: bigint;
  if (/^0[oO]/.test(body)) n = BigInt(`0o${body.slice(2)}`);
  else if (/^0[0-7]+$/.test(body)) n = BigInt(`0o${body.slice(1)}`);
  else n = BigInt(body.toLowerCase().replace(/^0x/, '0x').replace(/^0b/, '0b'));
  if (m[1] === '-') n = -n;
  if (n >= INT64_MIN && n <= INT64_MAX) return Number(n);
  // ParseUint takes no sign.
  if (m[1] === '' && n <= UINT64_MAX) return Number(n);
  return undefined;
}

// time.Parse of go-yaml's allowedTimestampFormats, with Go's output (RFC 3339 with nanoseconds).
const TIMESTAMP = /^(\d{4})-(\d{1,2})-(\d{1,2})(?:(?:([Tt])| )(\d{1,2}):(\d{1,2}):(\d{1,2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})?)?$/;

export function parseTimestamp(s: string): string | undefined {
  const m = TIMESTAMP.exec(s);
  if (!m) return undefined;
  const [, y, mo, d, t, h, mi, se, frac, zone] = m;
  // "2006-1-2T15:4:5.999999999Z07:00" needs a zone; the space form has none.
  if (h !== undefined && (t !== undefined) !== (zone !== undefined)) return undefined;
  const year = Number(y), month = Number(mo), day = Number(d);
  const days = new Date(Date.UTC(year, month, 0)).getUTCDate();
  if (month < 1 || month > 12 || day < 1 || day > days) return undefined;
  const hour = Number(h ?? 0), minute = Number(mi ?? 0), second = Number(se ?? 0);
  if (hour > 23 || minute > 59 || second > 59) return undefined;
  const two = (n: number) => String(n).padStart(2, '0');
  const fraction = frac ? `.${frac}`.replace(/0+$/, '').replace(/\.$/, '') : '';
  const offset = !zone || zone === 'Z' || zone === '+00:00' ? 'Z' : zone;
  return `${y}-${two(month)}-${two(day)}T${two(hour)}:${two(minute)}:${two(second)}${fraction}${offset}`;
}

// The first characters a plain scalar that is not a string can start with (a boolean, a null, a
// number, a timestamp, `<<`): any other first character makes a string at once, which is most of
// a large file's keys and values.
const RESOLVABLE_FIRST = new Set('yYnNtTfFoO~.+-<0123456789');

/** go-yaml's resolve() of an untagged plain scalar. */
export function resolvePlain(text: string, reading: YamlReading): Resolved {
  if (text.length > 0 && !RESOLVABLE_FIRST.has(text[0]!)) return { tag: 'str', value: text };
  const bool = (reading === 'sigs' ? BOOLS_V2 : BOOLS_V3)[text];
  if (bool !== undefined && Object.hasOwn(reading === 'sigs' ? BOOLS_V2 : BOOLS_V3, text)) return { tag: 'bool', value: bool };
  if (NULLS.has(text)) return { tag: 'null', value: null };
  if (SPECIAL_FLOATS.has(text)) return { tag: 'float', value: text.includes('nan') || text.includes('NaN') || text.includes('NAN') ? NaN : text.startsWith('-') ? -Infinity : Infinity };
  if (text === '<<') return { tag: 'merge', value: text };
  const hint = text[0];
  if (hint === '.') {
    // strconv.ParseFloat of what starts with a dot.
    if (/^\.[0-9]+([eE][-+]?[0-9]+)?$/.test(text)) {
      const value = Number(text);
      if (Number.isFinite(value)) return { tag: 'float', value };
    }
  } else if (hint !== undefined && /[-+0-9]/.test(hint)) {
    const time = parseTimestamp(text);
    if (time !== undefined) return { tag: 'timestamp', value: text, time };
    const plain = text.replaceAll('_', '');
    const int = parseGoInt(plain);
    if (int !== undefined) return { tag: 'int', value: int };
    if (YAML_STYLE_FLOAT.test(plain)) {
      const value = Number(plain);
      if (Number.isFinite(value)) return { tag: 'float', value };
    }
  }
  return { tag: 'str', value: text };
}

/** A scalar as the reading decodes it into interface{}, with the tag it resolved to. */
function resolveScalar(node: Scalar, reading: YamlReading): Resolved {
  const text = String(node.source ?? node.value);
  const tag = node.tag;
  if (tag && tag !== '!') {
    if (!tag.startsWith(TAG)) return { tag: 'str', value: text }; // a local tag: go-yaml keeps the text
    const short = tag.slice(TAG.length);
    if (short === 'str') return { tag: 'str', value: text };
    if (short === 'binary') return { tag: 'str', value: decodeBinary(text, node) };
    const resolved = resolvePlain(text, reading);
    if (resolved.tag === short) return resolved;
    if (short === 'float' && resolved.tag === 'int') return { tag: 'float', value: resolved.value };
    if (short === 'timestamp' && resolved.tag === 'timestamp') return resolved;
    if (['int', 'float', 'bool', 'null', 'timestamp', 'merge'].includes(short)) {
      throw new ReadingError(node.range?.[0] ?? 0, `cannot decode !!${resolved.tag} \`${text}\` as a !!${short}`);
    }
    return { tag: 'str', value: text };
  }
  if (node.type !== 'PLAIN') return { tag: 'str', value: text };
  return resolvePlain(text, reading);
}

// base64.StdEncoding.DecodeString, which skips line breaks; Go strings hold any bytes, JSON makes them UTF-8.
function decodeBinary(text: string, node: Scalar): string {
  const compact = text.replace(/[\r\n]/g, '');
  if (!/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(compact)) {
    throw new ReadingError(node.range?.[0] ?? 0, '!!binary value contains invalid base64 data');
  }
  return Buffer.from(compact, 'base64').toString('utf8');
}

/**
 * NaN and the infinities have no JSON form: json.Marshal fails on them, but only if they are still
 * there once the document is decoded (a later duplicate key may have replaced them).
 */
class NonFinite {
  constructor(
    readonly value: number,
    readonly offset: number,
  ) {}
}

/** What a decoded scalar is to JSON. */
function jsonScalar(resolved: Resolved, offset: number, reading: YamlReading, inFlowSequence: boolean): unknown {
  if (resolved.tag === 'float' && !Number.isFinite(resolved.value)) return new NonFinite(resolved.value, offset);
  if (resolved.tag === 'timestamp') {
    // go-yaml v2 hands timestamps to interface{} as their text. kustomize's output has them as
    // time.Time's RFC 3339, except a date with a time inside a flow sequence (`[...]`), which it
    // writes back as it was written (measured with tools/yamlcheck; docs/fidelity.md).
    if (reading === 'sigs') return resolved.value;
    return inFlowSequence && resolved.value.length > 10 ? resolved.value : resolved.time;
  }
  return resolved.value;
}

/** The text a resolved scalar has as a JSON object key, as sigs.k8s.io/yaml converts it. */
function sigsKey(resolved: Resolved, offset: number): string {
  switch (resolved.tag) {
    case 'str':
    case 'merge':
    case 'timestamp':
      return resolved.value;
    case 'bool':
      return resolved.value ? 'true' : 'false';
    case 'int':
      return String(resolved.value);
    case 'float':
      return float32Key(resolved.value);
    case 'null':
      throw new ReadingError(offset, 'unsupported map key of type: %!s(<nil>), key: <nil>');
  }
}

// strconv.FormatFloat(f, 'g', -1, 32), then go-yaml's names for the special values.
function float32Key(value: number): string {
  if (Number.isNaN(value)) return '.nan';
  if (!Number.isFinite(value)) return value > 0 ? '.inf' : '-.inf';
  const f = Math.fround(value);
  for (let digits = 1; digits <= 9; digits++) {
    const candidate = Number(f.toPrecision(digits));
    if (Math.fround(candidate) === f) return formatFloat(candidate, 'g', -1);
  }
  return formatFloat(f, 'g', -1);
}

interface AnchorData {
  read: DocumentReading;
  count: number;
  aliasCount: number;
}

/**
 * Reads one document as one decoder does: values, and the line of every key and item (a merged
 * key at the line where it is written, in the mapping merged in). Throws ReadingError where the
 * decoder refuses the document.
 */
export function readDocument(doc: Document.Parsed, reading: YamlReading, lineAt: (offset: number) => number, maxAliasCount: number): DocumentReading {
  const { isAlias, isMap, isPair, isScalar, isSeq } = yamlLibrary();
  const anchors = new Map<string, Node>();
  const data = new Map<Node, AnchorData>();
  /** Whether any NaN or infinity was read: only then is the value walked for one that remains. */
  let nonFiniteRead = false;
  /** Whether anything was read that the other reading reads otherwise (DocumentReading.mayDiffer). */
  let mayDiffer = false;
  const readsOtherwise = (node: Scalar, resolved: Resolved, asKey: boolean): boolean =>
    (node.tag !== undefined && node.tag !== '!') ||
    (asKey ? resolved.tag !== 'str' : resolved.tag === 'timestamp' || resolved.tag === 'merge' || (resolved.tag === 'bool' && !Object.hasOwn(BOOLS_V3, String(node.source ?? node.value))));

  const aliasCount = (node: unknown): number => {
    if (isAlias(node)) {
      const target = anchors.get(node.source);
      const found = target && data.get(target);
      return found ? found.count * found.aliasCount : 0;
    }
    if (isMap(node) || isSeq(node)) {
      let count = 0;
      for (const item of node.items) count = Math.max(count, aliasCount(item));
      return count;
    }
    if (isPair(node)) return Math.max(aliasCount(node.key), aliasCount(node.value));
    return 1;
  };

  const read = (node: unknown, line: number, inFlowSequence: boolean): DocumentReading => {
    if (node === null || node === undefined) return { value: null, lines: { line } };
    if (isAlias(node)) {
      const target = anchors.get(node.source);
      const found = target && data.get(target);
      const offset = node.range?.[0] ?? 0;
      if (!target || !found) throw new ReadingError(offset, `unknown anchor '${node.source}' referenced`);
      found.count += 1;
      if (found.aliasCount === 0) found.aliasCount = aliasCount(target);
      if (found.count * found.aliasCount > maxAliasCount) throw new ReadingError(offset, 'too many aliases', true);
      return { value: found.read.value, lines: { ...found.read.lines, line } };
    }
    const n = node as Node;
    // An anchor names its node from where it starts, as go-yaml's parser has it: an alias after a
    // nested node of the same name means the nested one.
    if (n.anchor) anchors.set(n.anchor, n);
    let result: DocumentReading;
    if (isScalar(n)) {
      const offset = n.range?.[0] ?? 0;
      const resolved = resolveScalar(n, reading);
      if (!mayDiffer && readsOtherwise(n, resolved, false)) mayDiffer = true;
      const value = jsonScalar(resolved, offset, reading, inFlowSequence);
      if (value instanceof NonFinite) nonFiniteRead = true;
      result = { value, lines: { line } };
    } else if (isSeq(n)) {
      const value: unknown[] = [];
      const items: LineNode[] = [];
      for (const item of n.items) {
        const itemLine = (item as Node | null)?.range ? lineAt((item as Node).range![0]) : line;
        const r = read(item, itemLine, n.flow === true);
        value.push(r.value);
        items.push(r.lines);
      }
      result = { value, lines: { line, items } };
    } else if (isMap(n)) {
      result = reading === 'sigs' ? readMapV2(n, line) : readMapV3(n, line);
    } else {
      throw new ReadingError(0, 'unexpected YAML node');
    }
    if (n.anchor) data.set(n, { read: result, count: 0, aliasCount: 0 });
    return result;
  };

  const isMergeKey = (key: unknown): boolean => isScalar(key) && key.type === 'PLAIN' && (key.tag === undefined || key.tag === `${TAG}merge`) && key.source === '<<';

  /** The mappings a `<<` merges, first one first. */
  const mergeSources = (value: unknown, offset: number): Array<{ value: Record<string, unknown>; lines: LineNode }> => {
    const wantMap = () => new ReadingError(offset, 'map merge requires map or sequence of maps as the value');
    const one = (item: unknown): { value: Record<string, unknown>; lines: LineNode } => {
      const target = isAlias(item) ? anchors.get(item.source) : item;
      if (!isMap(target)) throw wantMap();
      const r = read(item, lineAt((item as Node).range?.[0] ?? offset), false);
      return { value: r.value as Record<string, unknown>, lines: r.lines };
    };
    if (isSeq(value)) return value.items.map(one);
    return [one(value)];
  };

  // go-yaml v2 into map[interface{}]interface{}, then sigs.k8s.io/yaml's string keys: pairs apply in
  // order, a `<<` sets what it merges (the first of a list last, so it wins), a later key overwrites.
  const readMapV2 = (n: import('yaml').YAMLMap, line: number): DocumentReading => {
    const value: Record<string, unknown> = {};
    const keys: Record<string, LineNode> = {};
    for (const pair of n.items) {
      const keyOffset = (pair.key as Node | null)?.range?.[0] ?? 0;
      if (isMergeKey(pair.key)) {
        mayDiffer = true;
        for (const source of mergeSources(pair.value, keyOffset).reverse()) {
          for (const k of Object.keys(source.value)) setOwn(value, keys, k, source.value[k], source.lines.keys![k]!);
        }
        continue;
      }
      const key = mapKey(pair.key, keyOffset, 'sigs');
      if (Object.hasOwn(value, key)) mayDiffer = true;
      const r = read(pair.value, lineAt(keyOffset), false);
      setOwn(value, keys, key, r.value, r.lines);
    }
    return { value, lines: { line, keys } };
  };

  // kyaml's DeAnchor then go-yaml v3: the mapping's own keys win over merged ones, the first mapping
  // of a list over later ones; a key written twice is an error.
  const readMapV3 = (n: import('yaml').YAMLMap, line: number): DocumentReading => {
    const value: Record<string, unknown> = {};
    const keys: Record<string, LineNode> = {};
    const merged: Array<{ value: Record<string, unknown>; lines: LineNode }> = [];
    let mergeSeen = false;
    const own = new Map<string, number>();
    for (const pair of n.items) {
      const keyOffset = (pair.key as Node | null)?.range?.[0] ?? 0;
      if (isMergeKey(pair.key)) {
        if (mergeSeen) throw new ReadingError(keyOffset, 'duplicate merge key');
        mergeSeen = true;
        merged.push(...mergeSources(pair.value, keyOffset));
        continue;
      }
      const key = mapKey(pair.key, keyOffset, 'kyaml');
      const first = own.get(key);
      if (first !== undefined) throw new ReadingError(keyOffset, `mapping key "${key}" already defined at line ${lineAt(first)}`);
      own.set(key, keyOffset);
      const r = read(pair.value, lineAt(keyOffset), false);
      setOwn(value, keys, key, r.value, r.lines);
    }
    for (const source of merged) {
      for (const k of Object.keys(source.value)) if (!Object.hasOwn(value, k)) setOwn(value, keys, k, source.value[k], source.lines.keys![k]!);
    }
    return { value, lines: { line, keys } };
  };

  const mapKey = (key: unknown, offset: number, as: YamlReading): string => {
    if (!isScalar(key)) throw new ReadingError(offset, 'a mapping key must be a scalar');
    const resolved = resolveScalar(key, as);
    if (!mayDiffer && readsOtherwise(key, resolved, true)) mayDiffer = true;
    if (as === 'sigs') return sigsKey(resolved, offset);
    // go-yaml v3 decodes a mapping with a key that is not a string into map[interface{}]interface{},
    // which JSON cannot hold.
    if (resolved.tag !== 'str' && resolved.tag !== 'merge') throw new ReadingError(offset, 'json: unsupported type: map[interface {}]interface {}');
    return resolved.value;
  };

  const contents = doc.contents as Node | null;
  const start = lineAt(contents?.range?.[0] ?? doc.range[0]);
  const result = read(contents, start, false);
  const nonFinite = nonFiniteRead ? findNonFinite(result.value) : undefined;
  if (nonFinite) throw new ReadingError(nonFinite.offset, `json: unsupported value: ${Number.isNaN(nonFinite.value) ? 'NaN' : nonFinite.value > 0 ? '+Inf' : '-Inf'}`);
  return reading === 'sigs' ? { ...result, mayDiffer } : result;
}

// Values an alias shares are visited once: the walk stays linear in the document's size.
function findNonFinite(root: unknown): NonFinite | undefined {
  const seen = new Set<object>();
  const pending: unknown[] = [root];
  while (pending.length > 0) {
    const value = pending.pop();
    if (value instanceof NonFinite) return value;
    if (typeof value !== 'object' || value === null || seen.has(value)) continue;
    seen.add(value);
    for (const item of Array.isArray(value) ? value : Object.values(value)) if (typeof item === 'object' && item !== null) pending.push(item);
  }
  return undefined;
}

// `__proto__` is a legal YAML key and must stay data.
function setOwn(value: Record<string, unknown>, keys: Record<string, LineNode>, key: string, item: unknown, lines: LineNode): void {
  if (key === '__proto__') {
    Object.defineProperty(value, key, { value: item, enumerable: true, writable: true, configurable: true });
    Object.defineProperty(keys, key, { value: lines, enumerable: true, writable: true, configurable: true });
  } else {
    value[key] = item;
    keys[key] = lines;
  }
}

/**
 * Where the readings differ, with what each tool reads and how to write it so both agree. Compares
 * the two readings' values along the document; a difference is reported once, at the line of the
 * outermost node whose values differ.
 */
export function readingNotes(sigs: DocumentReading, kyaml: DocumentReading): Array<{ line: number; message: string }> {
  const notes: Array<{ line: number; message: string }> = [];
  const walk = (a: unknown, b: unknown, la: LineNode, lb: LineNode, path: string) => {
    if (Object.is(a, b)) return;
    if (isObject(a) && isObject(b)) {
      const onlyA = Object.keys(a).filter((k) => !Object.hasOwn(b, k));
      const onlyB = Object.keys(b).filter((k) => !Object.hasOwn(a, k));
      if (onlyA.length > 0 || onlyB.length > 0) {
        const line = Math.min(...onlyA.map((k) => la.keys?.[k]?.line ?? la.line), ...onlyB.map((k) => lb.keys?.[k]?.line ?? lb.line));
        notes.push({ line, message: `${READERS.sigs} reads the keys of ${path || 'the document'} as ${keyList(onlyA)}, ${READERS.kyaml} as ${keyList(onlyB)}; quote such keys ("y", "no", "on"...) so both read them as written` });
      }
      for (const k of Object.keys(a)) if (Object.hasOwn(b, k)) walk(a[k], b[k], la.keys?.[k] ?? la, lb.keys?.[k] ?? lb, path ? `${path}.${k}` : k);
      return;
    }
    if (Array.isArray(a) && Array.isArray(b) && a.length === b.length) {
      a.forEach((item, i) => walk(item, b[i], la.items?.[i] ?? la, lb.items?.[i] ?? lb, `${path}[${i}]`));
      return;
    }
    if (JSON.stringify(a) === JSON.stringify(b)) return;
    notes.push({ line: la.line, message: `${READERS.sigs} reads ${path || 'the document'} as ${show(a)}, ${READERS.kyaml} as ${show(b)}; ${advice(a, b, la.line !== lb.line)}` });
  };
  walk(sigs.value, kyaml.value, sigs.lines, kyaml.lines, '');
  return notes;
}

function advice(a: unknown, b: unknown, merged: boolean): string {
  if (merged) return 'write the key out instead of merging it with `<<`';
  if (typeof a === 'boolean' && typeof b === 'string') return `write \`${String(a)}\` for the boolean, or quote it ("${b}") for the string`;
  if (typeof a === 'string' && typeof b === 'string') return `quote it ("${a}") to keep the text as written`;
  return 'quote it to keep the text, or write the value in a form both read alike';
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function keyList(keys: string[]): string {
  return keys.length === 0 ? 'nothing else' : keys.map((k) => JSON.stringify(k)).join(', ');
}

function show(v: unknown): string {
  if (typeof v === 'string') return `the string ${JSON.stringify(v)}`;
  if (v === null) return 'null';
  if (typeof v === 'object') return Array.isArray(v) ? 'a list' : 'a mapping';
  return String(v);
}
