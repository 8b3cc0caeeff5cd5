// Multi-document YAML as Kubernetes tooling reads it (YAML 1.2, like gator's go-yaml v3), with the
// limits that keep a hostile file from exhausting memory, and the source positions the report needs.
import { isCollection, isMap, isPair, isScalar, isSeq, LineCounter, parseAllDocuments, visit, YAMLParseError, type Document, type Node, type YAMLError } from 'yaml';
import type { InputError } from '../model.js';

export interface YamlLimits {
  /** Files larger than this are refused unread. */
  maxFileBytes: number;
  maxDocumentsPerFile: number;
  /** Alias dereferences per document; guards against "billion laughs". */
  maxAliasCount: number;
}

export const defaultYamlLimits: YamlLimits = {
  maxFileBytes: 5 * 1024 * 1024,
  maxDocumentsPerFile: 1000,
  maxAliasCount: 100,
};

export interface YamlDocument {
  file: string;
  /** 0-based position among the file's non-empty documents. */
  index: number;
  value: unknown;
  /** 1-based line where the document starts (its first node). */
  line: number;
  /** 1-based line of the top-level `kind:` key, else the document's first line. */
  kindLine: number;
  lines: LineNode;
}

export interface ParsedYamlFile {
  documents: YamlDocument[];
  errors: InputError[];
}

export function sizeLimitError(file: string, size: number, limits: YamlLimits): InputError | undefined {
  if (size <= limits.maxFileBytes) return undefined;
  return {
    location: { file, line: 1 },
    code: 'limit',
    message: `file is ${formatBytes(size)}, over the ${formatBytes(limits.maxFileBytes)} limit for a manifest file; it was not read`,
  };
}

/**
 * Parses every document of a file. A document that does not parse becomes an error at its line and
 * the file's other documents are still returned.
 */
export function parseYamlFile(file: string, text: string, limits: YamlLimits = defaultYamlLimits): ParsedYamlFile {
  const sizeError = sizeLimitError(file, Buffer.byteLength(text), limits);
  if (sizeError) return { documents: [], errors: [sizeError] };
  const lineCounter = new LineCounter();
  const errors: InputError[] = [];
  const documents: YamlDocument[] = [];
  // The library's own duplicate-key check compares each key with every earlier one of its mapping
  // (32,000 keys took 15 s); withDuplicateKeys finds the same duplicates with one Set per mapping.
  const docs = parseAllDocuments(text, { lineCounter, version: '1.2', uniqueKeys: false, prettyErrors: false });
  const list = Array.isArray(docs) ? docs : [docs];
  const lineAt = (offset: number) => lineCounter.linePos(offset).line;
  const unprintableIn = unprintableFinder(text);
  let index = 0;
  for (const doc of list) {
    if (documents.length + errors.length >= limits.maxDocumentsPerFile) {
      errors.push({
        location: { file, line: lineAt(doc.range[0]) },
        code: 'limit',
        message: `more than ${limits.maxDocumentsPerFile} YAML documents in one file; the rest of the file was not read`,
      });
      break;
    }
    const unprintable = unprintableIn(doc.range[0], doc.range[2]);
    if (unprintable !== undefined) {
      const code = text.codePointAt(unprintable)!.toString(16).toUpperCase().padStart(4, '0');
      errors.push({
        location: { file, line: lineAt(unprintable) },
        code: 'yaml',
        message: `YAML: unprintable character U+${code} is not allowed; the document was not read (is this a binary file?)`,
      });
      continue;
    }
    const docErrors = withDuplicateKeys(doc);
    if (docErrors.length > 0) {
      for (const error of docErrors) {
        errors.push({ location: { file, line: lineAt(errorOffset(doc, error)) }, code: 'yaml', message: `YAML: ${firstLine(error.message)}` });
      }
      continue;
    }
    if (doc.contents === null) continue; // an empty document between two `---`
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: limits.maxAliasCount });
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      const isAliasBomb = /alias/i.test(message);
      errors.push({
        location: { file, line: lineAt(doc.range[0]) },
        code: isAliasBomb ? 'limit' : 'yaml',
        message: isAliasBomb
          ? `YAML: too many alias expansions (limit ${limits.maxAliasCount}); the document was not read`
          : `YAML: ${firstLine(message)}`,
      });
      continue;
    }
    const contents = doc.contents as Node;
    const start = lineAt(contents.range?.[0] ?? doc.range[0]);
    const lines = lineTree(contents, start, lineAt);
    documents.push({ file, index: index++, value, line: start, kindLine: lines.keys?.kind?.line ?? start, lines });
  }
  return { documents, errors };
}

// YAML 1.2's printable characters (c-printable). go-yaml, and so kubectl and gator, refuse a stream
// with any other; the yaml library reads them as data.
const UNPRINTABLE = /[^\t\n\r\x20-\x7E\x85\xA0-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;

/**
 * Finds the first unprintable character in a range of `text`; ranges must come in file order. One
 * pass over the text however many documents it holds, none at all for the usual clean file.
 */
function unprintableFinder(text: string): (start: number, end: number) => number | undefined {
  if (!UNPRINTABLE.test(text)) return () => undefined;
  const pattern = new RegExp(UNPRINTABLE.source, 'gu');
  let next: number | undefined = -1;
  return (start, end) => {
    if (next !== undefined && next < start) {
      pattern.lastIndex = start;
      next = pattern.exec(text)?.index;
    }
    return next !== undefined && next < end ? next : undefined;
  };
}

/**
 * The document's errors with those `uniqueKeys: true` would add: "Map keys must be unique" at each
 * scalar key whose value (as resolved: `1` and `1.0`, `~` and `null` are the same) an earlier key
 * of the same mapping has. Kept in the order the parser reports errors, by position.
 */
function withDuplicateKeys(doc: Document.Parsed): YAMLError[] {
  const duplicates: YAMLError[] = [];
  const pending: unknown[] = doc.contents ? [doc.contents] : [];
  // Depth-first with an explicit stack: a deeply nested document must not overflow the call stack here.
  while (pending.length > 0) {
    const node = pending.pop();
    if (isMap(node)) {
      const seen = new Set<unknown>();
      for (const pair of node.items) {
        const key = pair.key;
        // The library compares scalar keys by value with ===, other keys by identity (never equal).
        if (isScalar(key) && !(typeof key.value === 'number' && Number.isNaN(key.value))) {
          if (seen.has(key.value) && key.range) duplicates.push(new YAMLParseError([key.range[0], key.range[0] + 1], 'DUPLICATE_KEY', 'Map keys must be unique'));
          else seen.add(key.value);
        }
      }
      for (let i = node.items.length - 1; i >= 0; i--) pending.push(node.items[i]!.value, node.items[i]!.key);
    } else if (isSeq(node)) {
      for (let i = node.items.length - 1; i >= 0; i--) pending.push(node.items[i]);
    }
  }
  if (duplicates.length === 0) return doc.errors;
  duplicates.sort((a, b) => a.pos[0] - b.pos[0]);
  // The parser reports an error where it meets it: a duplicate key before anything inside its value.
  const merged: YAMLError[] = [];
  let next = 0;
  for (const error of doc.errors) {
    while (next < duplicates.length && duplicates[next]!.pos[0] < error.pos[0]) merged.push(duplicates[next++]!);
    merged.push(error);
  }
  merged.push(...duplicates.slice(next));
  return merged;
}

// An unclosed quote or flow collection swallows the rest of the document, so the parser notices the
// mistake only where the document ends; the reader needs the line where it opens (go-yaml, and so
// kubectl and gator, name that line too).
const UNTERMINATED = /^Missing closing .quote|must (be sufficiently indented and )?end with a [\]}]/;

function errorOffset(doc: Document.Parsed, error: YAMLError): number {
  const at = error.pos[0];
  if (!UNTERMINATED.test(error.message)) return at;
  let opening: number | undefined;
  visit(doc, (_key, node) => {
    const quoted = isScalar(node) && (node.type === 'QUOTE_DOUBLE' || node.type === 'QUOTE_SINGLE');
    const flow = isCollection(node) && node.flow === true;
    // The innermost such node wins: visit goes outside in.
    if ((quoted || flow) && node.range?.[1] === at) opening = node.range[0];
  });
  return opening ?? at;
}

/**
 * The lines of a document's nodes, in the document's shape: a mapping's keys (each at its key's line),
 * a sequence's items. Built in the one parse, so reports never parse a file twice.
 */
export interface LineNode {
  line: number;
  keys?: Record<string, LineNode>;
  items?: LineNode[];
}

function lineTree(node: unknown, line: number, lineAt: (offset: number) => number): LineNode {
  if (isMap(node)) {
    const keys: Record<string, LineNode> = {};
    for (const pair of node.items) {
      if (!isPair(pair) || !isScalar(pair.key) || !pair.key.range) continue;
      const key = String(pair.key.value);
      const value = lineTree(pair.value, lineAt(pair.key.range[0]), lineAt);
      // `__proto__` is a legal YAML key and must stay data.
      if (key === '__proto__') Object.defineProperty(keys, key, { value, enumerable: true, writable: true, configurable: true });
      else keys[key] = value;
    }
    return { line, keys };
  }
  if (isSeq(node)) {
    return { line, items: node.items.map((item) => lineTree(item, (item as Node | null)?.range ? lineAt((item as Node).range![0]) : line, lineAt)) };
  }
  return { line };
}

/** The line of the deepest existing node along `path`, with how many segments were found. */
export function lineOfPath(root: LineNode, path: Array<string | number>): { line: number; depth: number } {
  let node = root;
  let depth = 0;
  for (const segment of path) {
    const next = child(node, segment);
    if (!next) break;
    node = next;
    depth++;
  }
  return { line: node.line, depth };
}

/** The node at `path`, when the whole path exists. */
export function lineNodeAt(root: LineNode, path: Array<string | number>): LineNode | undefined {
  let node: LineNode | undefined = root;
  for (const segment of path) {
    node = child(node, segment);
    if (!node) return undefined;
  }
  return node;
}

// Own properties only: a YAML key may well be called `constructor`.
function child(node: LineNode, segment: string | number): LineNode | undefined {
  if (typeof segment === 'number') return node.items?.[segment];
  return node.keys && Object.hasOwn(node.keys, segment) ? node.keys[segment] : undefined;
}

function firstLine(message: string): string {
  return message.split('\n')[0]!.trim();
}

function formatBytes(bytes: number): string {
  if (bytes >= 1024 * 1024) return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
  if (bytes >= 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${bytes} bytes`;
}
