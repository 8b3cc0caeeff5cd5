// A fast reader for the YAML most manifests are written in: block mappings and sequences of
// scalars, one-line lists of scalars, `|` and `>` blocks, anchored values and their
// aliases, comments and `---`. It reads a file
// exactly as yaml-file.ts's general path (the `yaml` library and yaml-readings.ts) does, about five
// times faster: a CRD bundle of several MiB is parsed on every check. Anything else in the file (flow
// mappings, tags, multi-line quoted or escaped scalars, tabs, keys or values the two readings read
// differently...) makes it give up, and the general path reads the whole file.
// test/engine/yaml-plain.test.ts holds it to the general path's result on every fixture.
import type { LineNode, YamlDocument, YamlLimits } from './yaml-file.js';
import { resolvePlain } from './yaml-readings.js';

/** Thrown where the file leaves the subset; never escapes readPlainYaml. */
class NotPlain extends Error {}

const notPlain = (): never => {
  throw new NotPlain();
};

interface Read {
  value: unknown;
  lines: LineNode;
}

/**
 * The file's documents as the general path reads them, or undefined when the file is not in the
 * subset. Only files the general path reads without an error, warning or second reading are read
 * here: those are the ones in the subset.
 */
export function readPlainYaml(file: string, text: string, limits: YamlLimits): YamlDocument[] | undefined {
  // Tabs, carriage returns, a byte-order mark and what YAML cannot print all have rules of their own.
  if (/[\t\r\uFEFF]/.test(text) || !text.endsWith('\n') || UNPRINTABLE.test(text)) return undefined;
  try {
    return new PlainReader(file, text).documents(limits);
  } catch (error) {
    if (error instanceof NotPlain) return undefined;
    throw error;
  }
}

const UNPRINTABLE = /[^\n\x20-\x7E\x85\xA0-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;
// Characters a plain scalar may not start with (YAML's indicators), besides the ones handled apart.
const INDICATOR = new Set(['-', '?', ':', ',', '[', ']', '{', '}', '#', '&', '*', '!', '|', '>', "'", '"', '%', '@', '`']);
const SPACE = 32;
/** Collections nested in one another, far more than any manifest (a CRD's schema: about 40). */
const MAX_DEPTH = 200;

/** An anchored node (`key: &name ...`): what an alias to it reads, and how often it was. */
interface Anchor {
  read: Read;
  aliases: number;
  /** It holds an alias itself: how the general path counts expansions then is its business. */
  nested: boolean;
}

class PlainReader {
  private readonly lines: string[];
  private i = 0;
  /** The current document's anchors, the latest of each name. */
  private readonly anchors = new Map<string, Anchor>();
  private aliasesRead = 0;
  private depth = 0;
  private maxAliasCount = 0;

  constructor(
    private readonly file: string,
    text: string,
  ) {
    this.lines = text.split('\n');
    // The text ends with a line break: the last element is the empty rest after it.
    this.lines.pop();
  }

  documents(limits: YamlLimits): YamlDocument[] {
    this.maxAliasCount = limits.maxAliasCount;
    const documents: YamlDocument[] = [];
    const push = (read: Read) => {
      if (documents.length >= limits.maxDocumentsPerFile) notPlain();
      const line = read.lines.line;
      documents.push({ file: this.file, index: documents.length, value: read.value, line, kindLine: read.lines.keys?.kind?.line ?? line, lines: read.lines });
    };
    let marker: number | undefined;
    for (;;) {
      this.skipBlank();
      if (this.i >= this.lines.length) break;
      const text = this.lines[this.i]!;
      if (isMarker(text)) {
        // `---` with nothing after it before the next one (or the end) is an empty document.
        if (marker !== undefined) push({ value: null, lines: { line: marker } });
        if (!isBlankRest(text, 3)) notPlain();
        marker = this.i + 1;
        this.i++;
        continue;
      }
      if (text.startsWith('...') || text.startsWith('%') || indentOf(text) !== 0) notPlain();
      this.anchors.clear();
      push(this.node(0));
      marker = undefined;
      this.skipBlank();
      if (this.i < this.lines.length && !isMarker(this.lines[this.i]!)) notPlain();
    }
    if (marker !== undefined) push({ value: null, lines: { line: marker } });
    return documents;
  }

  /** Moves past lines that hold nothing or only a comment. */
  private skipBlank(): void {
    while (this.i < this.lines.length) {
      const text = this.lines[this.i]!;
      const at = indentOf(text);
      if (at < text.length && text.charCodeAt(at) !== 35 /* # */) return;
      this.i++;
    }
  }

  /** The block collection that starts at column `col` of the current line. */
  private node(col: number): Read {
    // Absurd nesting is the general path's, which says where it gives up.
    if (++this.depth > MAX_DEPTH) notPlain();
    const read = isItem(this.lines[this.i]!, col) ? this.sequence(col) : this.mapping(col);
    this.depth--;
    return read;
  }

  /** A mapping that starts on a sequence item's line (`- key: value`), counted as nesting too. */
  private itemMapping(col: number): Read {
    if (++this.depth > MAX_DEPTH) notPlain();
    const read = this.mapping(col);
    this.depth--;
    return read;
  }

  private sequence(indent: number): Read {
    const value: unknown[] = [];
    const items: LineNode[] = [];
    const line = this.i + 1;
    for (;;) {
      const text = this.lines[this.i]!;
      const itemLine = this.i + 1;
      let at = indent + 1;
      while (text.charCodeAt(at) === SPACE) at++;
      // `-` alone on its line, with its item below, and `- - x`: rare, left to the general path.
      if (at >= text.length || text.charCodeAt(at) === 35 || isItem(text, at)) notPlain();
      let read: Read;
      if (keyEnd(text, at) !== undefined) read = this.itemMapping(at);
      else {
        read = this.inlineValue(text, at, indent, itemLine);
        this.afterScalar(indent);
      }
      value.push(read.value);
      items.push(read.lines);
      this.skipBlank();
      if (this.i >= this.lines.length) break;
      const next = this.lines[this.i]!;
      const nextIndent = indentOf(next);
      if (nextIndent > indent) notPlain();
      if (nextIndent < indent || !isItem(next, indent)) break;
    }
    return { value, lines: { line, items } };
  }

  private mapping(indent: number): Read {
    const value: Record<string, unknown> = {};
    const keys: Record<string, LineNode> = {};
    const line = this.i + 1;
    let first = true;
    for (;;) {
      const text = this.lines[this.i]!;
      const keyLine = this.i + 1;
      const at = first ? indent : indentOf(text);
      first = false;
      const end = keyEnd(text, at);
      if (end === undefined) notPlain();
      const key = keyText(text, at, end!);
      if (key === '__proto__' || Object.hasOwn(value, key)) notPlain();
      let rest = end! + 1;
      while (text.charCodeAt(rest) === SPACE) rest++;
      // `key: &name` anchors the value; `key: *name` is an alias to an earlier one.
      const anchor = text.charCodeAt(rest) === 38 /* & */ ? nameAt(text, rest) : undefined;
      if (anchor !== undefined) {
        rest += anchor.length + 1;
        if (rest < text.length && text.charCodeAt(rest) !== SPACE) notPlain();
        while (text.charCodeAt(rest) === SPACE) rest++;
        // An alias inside the node it names is the general path's business.
        this.anchors.delete(anchor);
      }
      const aliasesBefore = this.aliasesRead;
      let read: Read;
      if (rest >= text.length || text.charCodeAt(rest) === 35) {
        read = this.nested(indent, keyLine);
      } else if (text.charCodeAt(rest) === 42 /* * */ && anchor === undefined) {
        read = this.alias(text, rest, keyLine);
        this.afterScalar(indent);
      } else {
        read = this.inlineValue(text, rest, indent, keyLine);
        this.afterScalar(indent);
      }
      if (anchor !== undefined) this.anchors.set(anchor, { read, aliases: 0, nested: this.aliasesRead !== aliasesBefore });
      value[key] = read.value;
      keys[key] = read.lines;
      this.skipBlank();
      if (this.i >= this.lines.length) break;
      const next = this.lines[this.i]!;
      const nextIndent = indentOf(next);
      if (nextIndent > indent) notPlain();
      if (nextIndent < indent) break;
      if (isItem(next, indent)) {
        // A sequence item at a mapping's own indent ends it only when the mapping is a sequence item.
        break;
      }
      if (isMarker(next) || next.startsWith('...')) break;
    }
    return { value, lines: { line, keys } };
  }

  /** What follows `key:` on the next lines: a collection, or nothing (null). */
  private nested(indent: number, keyLine: number): Read {
    this.i++;
    this.skipBlank();
    if (this.i < this.lines.length) {
      const text = this.lines[this.i]!;
      const at = indentOf(text);
      if (!isMarker(text) && (at > indent || (at === indent && isItem(text, at)))) {
        const read = this.node(at);
        return { value: read.value, lines: { ...read.lines, line: keyLine } };
      }
    }
    return { value: null, lines: { line: keyLine } };
  }

  /** `*name` at `at`: the anchored node's value itself, at this line. */
  private alias(text: string, at: number, line: number): Read {
    const name = nameAt(text, at);
    if (!isBlankRest(text, at + name.length + 1)) notPlain();
    const anchor = this.anchors.get(name);
    // Past the limit, the general path reports the alias bomb.
    if (!anchor || anchor.nested || ++anchor.aliases > this.maxAliasCount) notPlain();
    this.aliasesRead++;
    return { value: anchor!.read.value, lines: { ...anchor!.read.lines, line } };
  }

  /** A scalar, an empty collection or a `|` block starting at column `at` of the current line. */
  private inlineValue(text: string, at: number, indent: number, line: number): Read {
    const c = text[at]!;
    if (c === '|' || c === '>') return { value: this.block(text, at, indent), lines: { line } };
    if (c === '"' || c === "'") {
      const close = c === '"' ? doubleQuotedEnd(text, at) : singleQuotedEnd(text, at);
      if (!isBlankRest(text, close + 1)) notPlain();
      const inner = text.slice(at + 1, close);
      return { value: c === "'" ? inner.replaceAll("''", "'") : inner, lines: { line } };
    }
    if (c === '[') return flowSequence(text, at, line);
    const rest = text.slice(at).trimEnd();
    if (rest === '{}' || /^\{\}\s+#/.test(rest)) return { value: {}, lines: { line, keys: {} } };
    // `-1` is a plain scalar; `- x` here is a sequence YAML refuses.
    if (INDICATOR.has(c) && !(c === '-' && at + 1 < text.length && text.charCodeAt(at + 1) !== SPACE)) notPlain();
    const first = plainText(text, at);
    // A plain scalar goes on over the lines indented under it, folded into one line; after a
    // comment it cannot (afterScalar leaves that to the general path).
    if (first.length !== text.length - at) return { value: plainValue(first), lines: { line } };
    const parts = [first];
    for (let j = this.i + 1; j < this.lines.length; j++) {
      const next = this.lines[j]!;
      const nextIndent = indentOf(next);
      if (nextIndent === next.length || nextIndent <= indent) break;
      const content = next.slice(nextIndent).trimEnd();
      if (INDICATOR.has(content[0]!) || / #|:( |$)/.test(content)) notPlain();
      parts.push(content);
      this.i = j;
    }
    return { value: plainValue(parts.join(' ')), lines: { line } };
  }

  /** A scalar's line is over: what comes next may not be indented into it (a continuation). */
  private afterScalar(indent: number): void {
    this.i++;
    this.skipBlank();
    if (this.i < this.lines.length && indentOf(this.lines[this.i]!) > indent) notPlain();
  }

  /** A block scalar (`|`, `|-`, `>`, `>-`) whose header is at `at`; the current line moves past its content. */
  private block(text: string, at: number, indent: number): string {
    const folded = text[at] === '>';
    let header = at + 1;
    const chomp = text[header] === '-' ? 'strip' : 'clip';
    if (chomp === 'strip') header++;
    // An indentation indicator, `+` (keep) and `|` in odd places are left to the general path.
    if (!isBlankRest(text, header) || (header < text.length && text.charCodeAt(header) !== SPACE)) notPlain();
    const start = this.i + 1;
    let contentIndent = -1;
    let end = start;
    for (; end < this.lines.length; end++) {
      const line = this.lines[end]!;
      const spaces = indentOf(line);
      if (spaces === line.length) continue;
      if (contentIndent < 0) {
        if (spaces <= indent) break;
        contentIndent = spaces;
      } else if (spaces < contentIndent) break;
    }
    if (contentIndent < 0) notPlain();
    // Lines of spaces only, longer than the indentation: content or not depends on where they are.
    for (let j = start; j < end; j++) {
      const line = this.lines[j]!;
      if (indentOf(line) === line.length && line.length > contentIndent) notPlain();
    }
    let last = end;
    while (last > start && this.lines[last - 1]!.length <= contentIndent && indentOf(this.lines[last - 1]!) === this.lines[last - 1]!.length) last--;
    const body: string[] = [];
    for (let j = start; j < last; j++) body.push(this.lines[j]!.slice(contentIndent));
    this.i = end - 1;
    const content = folded ? fold(body) : body.join('\n');
    return chomp === 'strip' ? content : `${content}\n`;
  }
}

/**
 * A folded block's lines: a line break between two lines becomes a space, one followed by empty
 * lines becomes their line breaks. Leading empty lines and more-indented lines, which fold
 * otherwise, are left to the general path.
 */
function fold(body: string[]): string {
  if (body[0] === '' || body.some((line) => line.charCodeAt(0) === SPACE)) notPlain();
  let out = body[0]!;
  for (let j = 1; j < body.length; j++) {
    const line = body[j]!;
    if (line === '') out += '\n';
    else out += body[j - 1] === '' ? line : ` ${line}`;
  }
  return out;
}

/** The anchor or alias name after the `&` or `*` at `at`. */
function nameAt(text: string, at: number): string {
  let end = at + 1;
  while (end < text.length && text.charCodeAt(end) !== SPACE) end++;
  const name = text.slice(at + 1, end);
  if (!/^[^,[\]{}#]+$/.test(name)) notPlain();
  return name;
}

function indentOf(text: string): number {
  let at = 0;
  while (text.charCodeAt(at) === SPACE) at++;
  return at;
}

function isMarker(text: string): boolean {
  return text.startsWith('---') && (text.length === 3 || text.charCodeAt(3) === SPACE);
}

/** Whether the line holds only spaces or a comment from `from` on. */
function isBlankRest(text: string, from: number): boolean {
  let at = from;
  while (text.charCodeAt(at) === SPACE) at++;
  return at >= text.length || (text.charCodeAt(at) === 35 && (at === from ? from === 0 || text.charCodeAt(from - 1) === SPACE : true));
}

/** `-` followed by a space or the end of the line, at `at`. */
function isItem(text: string, at: number): boolean {
  return text.charCodeAt(at) === 45 /* - */ && (at + 1 >= text.length || text.charCodeAt(at + 1) === SPACE);
}

/** The position of the `:` that ends a key starting at `at`, or undefined when the line is no `key:`. */
function keyEnd(text: string, at: number): number | undefined {
  const c = text[at];
  if (c === '"' || c === "'") {
    const close = c === '"' ? doubleQuotedEnd(text, at) : singleQuotedEnd(text, at);
    return close - at <= 1024 && text.charCodeAt(close + 1) === 58 && (close + 2 >= text.length || text.charCodeAt(close + 2) === SPACE) ? close + 1 : undefined;
  }
  if (c === undefined || INDICATOR.has(c)) return undefined;
  // YAML limits an implicit key to 1024 characters.
  for (let p = at; p < text.length && p - at <= 1024; p++) {
    const code = text.charCodeAt(p);
    if (code === 58 /* : */ && (p + 1 >= text.length || text.charCodeAt(p + 1) === SPACE)) return p;
    if (code === 35 && text.charCodeAt(p - 1) === SPACE) return undefined;
  }
  return undefined;
}

/** A key as the readings make it a string; a key either reading takes for anything else is not plain. */
function keyText(text: string, at: number, end: number): string {
  const c = text[at];
  if (c === "'") return text.slice(at + 1, end - 1).replaceAll("''", "'");
  if (c === '"') return text.slice(at + 1, end - 1);
  const key = text.slice(at, end).trimEnd();
  if (resolvePlain(key, 'sigs').tag !== 'str' || resolvePlain(key, 'kyaml').tag !== 'str') notPlain();
  return key;
}

/** `[a, "b", 'c']` on one line: scalars only, as `apiGroups: [""]` is written. */
function flowSequence(text: string, open: number, line: number): Read {
  const value: unknown[] = [];
  const items: LineNode[] = [];
  let at = open + 1;
  const skipSpaces = () => {
    while (text.charCodeAt(at) === SPACE) at++;
  };
  skipSpaces();
  if (text[at] === ']') at++;
  else {
    for (;;) {
      const c = text[at];
      if (c === '"' || c === "'") {
        const close = c === '"' ? doubleQuotedEnd(text, at) : singleQuotedEnd(text, at);
        const inner = text.slice(at + 1, close);
        value.push(c === "'" ? inner.replaceAll("''", "'") : inner);
        at = close + 1;
      } else {
        if (c === undefined || (INDICATOR.has(c) && !(c === '-' && at + 1 < text.length && !/[ ,\]]/.test(text[at + 1]!)))) notPlain();
        let end = at;
        while (end < text.length && !/[,\][{}:#]/.test(text[end]!)) end++;
        value.push(plainValue(text.slice(at, end).trimEnd()));
        at = end;
      }
      items.push({ line });
      skipSpaces();
      const next = text[at++];
      if (next === ']') break;
      if (next !== ',') notPlain();
      skipSpaces();
      // `[a, ]` and `[a,,b]` have rules of their own.
      if (text[at] === ']' || text[at] === ',') notPlain();
    }
  }
  if (!isBlankRest(text, at)) notPlain();
  return { value, lines: { line, items } };
}

/** The closing `"` of a double-quoted scalar on this line; one with escapes is not plain. */
function doubleQuotedEnd(text: string, at: number): number {
  for (let p = at + 1; p < text.length; p++) {
    const code = text.charCodeAt(p);
    if (code === 92 /* \ */) notPlain();
    if (code === 34) return p;
  }
  return notPlain();
}

/** The closing `'` of a single-quoted scalar on this line (`''` is a quote inside it). */
function singleQuotedEnd(text: string, at: number): number {
  for (let p = at + 1; p < text.length; p++) {
    if (text.charCodeAt(p) !== 39) continue;
    if (text.charCodeAt(p + 1) === 39) p++;
    else return p;
  }
  return notPlain();
}

/** A plain scalar from `at` to a comment or the end of the line. */
function plainText(text: string, at: number): string {
  let end = text.length;
  for (let p = at; p < text.length; p++) {
    const code = text.charCodeAt(p);
    if (code === 35 && text.charCodeAt(p - 1) === SPACE) {
      end = p;
      break;
    }
    // `a: b` inside a value is a mapping YAML refuses here.
    if (code === 58 && (p + 1 >= text.length || text.charCodeAt(p + 1) === SPACE)) notPlain();
  }
  return text.slice(at, end).trimEnd();
}

/** A plain scalar's value, when both readings read it alike (no YAML 1.1 boolean, timestamp, NaN...). */
function plainValue(text: string): unknown {
  const sigs = resolvePlain(text, 'sigs');
  if (sigs.tag === 'str') return sigs.value;
  const kyaml = resolvePlain(text, 'kyaml');
  if (sigs.tag === 'timestamp' || sigs.tag === 'merge' || kyaml.tag !== sigs.tag || !Object.is(kyaml.value, sigs.value)) notPlain();
  if (sigs.tag === 'float' && !Number.isFinite(sigs.value)) notPlain();
  return sigs.value;
}
