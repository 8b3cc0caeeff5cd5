// Multi-document YAML as the cluster's client reads it (yaml-readings.ts: sigs.k8s.io/yaml for
// kubectl and Argo CD, kyaml for Flux), with the limits that keep a hostile file from exhausting
// memory, and the source positions the report needs.
import type { Document, LineCounter, YAMLError } from 'yaml';
import type { InputError } from '../model.js';
import { cutQuotedScalars, indentQuotedContinuations } from './quoted-continuations.js';
import { yamlLibrary } from './yaml-library.js';
import { readPlainYaml } from './yaml-plain.js';
import { READERS, readDocument, ReadingError, readingNotes, type DocumentReading, type YamlReading } from './yaml-readings.js';

// The drivers reach YAML through this module (the yaml.* builtins parse with the library too).
export { yamlLibrary };

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
  /**
   * kyaml's (Flux's) reading, when it differs from `value` (sigs.k8s.io/yaml's, kubectl's and Argo
   * CD's), or why kyaml refuses the document.
   */
  kyaml?: DocumentReading | { error: InputError };
  /** Lines the two readings read differently: warnings, not errors (the cluster takes the document). */
  warnings?: InputError[];
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
  // Most manifests are plain block YAML, which yaml-plain.ts reads the same, many times faster.
  const plain = readPlainYaml(file, text, limits);
  if (plain) return { documents: plain, errors: [] };
  return parseYamlFileInFull(file, text, limits);
}

/** parseYamlFile through the `yaml` library and both readings, whatever the file holds. */
export function parseYamlFileInFull(file: string, text: string, limits: YamlLimits = defaultYamlLimits): ParsedYamlFile {
  let { lineCounter, list } = parseDocuments(text);
  // Quoted scalars continued at the enclosing block's indentation, which go-yaml reads: each round
  // re-indents those the last parse ended before go-yaml would (all it finds in one round; few files
  // have any, and a file without an error is parsed once).
  for (let round = 0; round < 4; round++) {
    const openings = list.flatMap((doc) => (doc.errors.length > 0 ? cutQuotedScalars(doc, text) : []));
    const repaired = openings.length > 0 ? indentQuotedContinuations(text, openings) : undefined;
    if (repaired === undefined) break;
    text = repaired;
    ({ lineCounter, list } = parseDocuments(text));
  }
  const errors: InputError[] = [];
  const documents: YamlDocument[] = [];
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
    if (doc.errors.length > 0) {
      // On absurd nesting the yaml package catches the stack overflow where it happens, and again
      // in an outer collection when its own report overflows too (how often depends on the stack
      // left): one failure, reported once, where it first gave up.
      let exhausted = false;
      for (const error of doc.errors) {
        if (error.code === 'RESOURCE_EXHAUSTION') {
          if (exhausted) continue;
          exhausted = true;
        }
        errors.push({ location: { file, line: lineAt(errorOffset(doc, error)) }, code: 'yaml', message: `YAML: ${firstLine(error.message)}` });
      }
      continue;
    }
    if (doc.contents === null) continue; // an empty document between two `---`
    let sigs: DocumentReading;
    try {
      sigs = readDocument(doc, 'sigs', lineAt, limits.maxAliasCount);
    } catch (error) {
      errors.push(readingError(file, doc, error, lineAt, limits));
      continue;
    }
    let kyaml: YamlDocument['kyaml'];
    const warnings: InputError[] = [];
    // Most documents hold nothing the two readings read differently: the other reading is then the same.
    if (sigs.mayDiffer !== false) {
      try {
        const other = readDocument(doc, 'kyaml', lineAt, limits.maxAliasCount);
        const notes = readingNotes(sigs, other);
        if (notes.length > 0) kyaml = other;
        for (const note of notes) warnings.push({ location: { file, line: note.line }, code: 'yaml-reading', message: `YAML: ${note.message}` });
      } catch (error) {
        const refused = readingError(file, doc, error, lineAt, limits);
        kyaml = { error: refused };
        warnings.push({
          location: refused.location,
          code: 'yaml-reading',
          message: `YAML: ${READERS.kyaml} refuses this document (${refused.message.replace(/^YAML: /, '')}); ${READERS.sigs} reads it${/already defined/.test(refused.message) ? ', keeping the last value' : ''}`,
        });
      }
    }
    const start = sigs.lines.line;
    const { value, lines } = sigs;
    documents.push({
      file,
      index: index++,
      value,
      line: start,
      kindLine: lines.keys?.kind?.line ?? start,
      lines,
      ...(kyaml ? { kyaml } : {}),
      ...(warnings.length > 0 ? { warnings } : {}),
    });
  }
  return { documents, errors };
}

function parseDocuments(text: string): { lineCounter: LineCounter; list: Document.Parsed[] } {
  const { LineCounter, parseAllDocuments } = yamlLibrary();
  const lineCounter = new LineCounter();
  // The library only parses: every scalar stays text (the failsafe schema, no known tags) and
  // yaml-readings.ts resolves it as each Go decoder does. Duplicate keys are the readings' business
  // too (kubectl keeps the last, kyaml refuses), so the library's own check (quadratic: 32,000 keys
  // took 15 s) is off.
  const docs = parseAllDocuments(text, { lineCounter, schema: 'failsafe', resolveKnownTags: false, uniqueKeys: false, prettyErrors: false });
  return { lineCounter, list: Array.isArray(docs) ? docs : [docs] };
}

/** The document as `reading` decodes it (value, lines), when that differs from the default (sigs.k8s.io/yaml's). */
export function documentAs(doc: YamlDocument, reading: YamlReading): YamlDocument {
  if (reading === 'sigs' || !doc.kyaml || 'error' in doc.kyaml) return doc;
  const { value, lines } = doc.kyaml;
  return { ...doc, value, lines, kindLine: lines.keys?.kind?.line ?? doc.kindLine };
}

/** parseYamlFile, every document as `reading` decodes it; one that reading refuses is an error. */
export function parseYamlFileAs(file: string, text: string, reading: YamlReading, limits: YamlLimits = defaultYamlLimits): ParsedYamlFile {
  const parsed = parseYamlFile(file, text, limits);
  if (reading === 'sigs') return parsed;
  const errors = [...parsed.errors];
  const documents: YamlDocument[] = [];
  for (const doc of parsed.documents) {
    if (doc.kyaml && 'error' in doc.kyaml) errors.push(doc.kyaml.error);
    else documents.push(documentAs(doc, reading));
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

/** A ReadingError (or a stack overflow on absurd nesting) as the document's input error. */
function readingError(file: string, doc: Document.Parsed, error: unknown, lineAt: (offset: number) => number, limits: YamlLimits): InputError {
  if (error instanceof ReadingError && error.limit) {
    return { location: { file, line: lineAt(doc.range[0]) }, code: 'limit', message: `YAML: too many alias expansions (limit ${limits.maxAliasCount}); the document was not read` };
  }
  if (error instanceof ReadingError) return { location: { file, line: lineAt(error.offset) }, code: 'yaml', message: `YAML: ${error.message}` };
  if (error instanceof RangeError) return { location: { file, line: lineAt(doc.range[0]) }, code: 'limit', message: 'YAML: the document is nested too deeply; it was not read' };
  throw error;
}

// An unclosed quote or flow collection swallows the rest of the document, so the parser notices the
// mistake only where the document ends; the reader needs the line where it opens (go-yaml, and so
// kubectl and gator, name that line too).
const UNTERMINATED = /^Missing closing .quote|must (be sufficiently indented and )?end with a [\]}]/;

function errorOffset(doc: Document.Parsed, error: YAMLError): number {
  const at = error.pos[0];
  if (!UNTERMINATED.test(error.message)) return at;
  const { isCollection, isScalar, visit } = yamlLibrary();
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
