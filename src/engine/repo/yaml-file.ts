// Multi-document YAML as Kubernetes tooling reads it (YAML 1.2, like gator's go-yaml v3), with the
// limits that keep a hostile file from exhausting memory, and the source positions the report needs.
import { isMap, isPair, isScalar, isSeq, LineCounter, parseAllDocuments, type Document, type Node } from 'yaml';
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
  const docs = parseAllDocuments(text, { lineCounter, version: '1.2', uniqueKeys: true, prettyErrors: false });
  const list = Array.isArray(docs) ? docs : [docs];
  const lineAt = (offset: number) => lineCounter.linePos(offset).line;
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
    if (doc.errors.length > 0) {
      for (const error of doc.errors) {
        errors.push({ location: { file, line: lineAt(error.pos[0]) }, code: 'yaml', message: `YAML: ${firstLine(error.message)}` });
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
    const kindKey = isMap(contents) ? contents.items.find((pair) => isScalar(pair.key) && pair.key.value === 'kind') : undefined;
    const kindLine = kindKey && isScalar(kindKey.key) && kindKey.key.range ? lineAt(kindKey.key.range[0]) : start;
    documents.push({ file, index: index++, value, line: start, kindLine });
  }
  return { documents, errors };
}

/** A parsed file kept for finding the lines of fields, which only reports need. */
export class YamlPositions {
  private readonly lineCounter = new LineCounter();
  private readonly docs: Document.Parsed[];

  constructor(text: string) {
    const docs = parseAllDocuments(text, { lineCounter: this.lineCounter, version: '1.2' });
    this.docs = (Array.isArray(docs) ? docs : [docs]).filter((doc) => doc.errors.length > 0 || doc.contents !== null);
  }

  /** The document with `index` as numbered by parseYamlFile (documents that failed to parse are skipped there). */
  root(index: number): Node | undefined {
    return this.docs.filter((doc) => doc.errors.length === 0)[index]?.contents ?? undefined;
  }

  line(node: { range?: [number, number, number] | null } | null | undefined): number | undefined {
    const offset = node?.range?.[0];
    return offset === undefined ? undefined : this.lineCounter.linePos(offset).line;
  }

  /**
   * The line of the deepest existing key along `path` (a key's own line, where `privileged: true` is
   * written), with how many path segments were found.
   */
  lineOfPath(index: number, path: Array<string | number>): { line: number; depth: number } | undefined {
    let node: unknown = this.root(index);
    let best: { line: number; depth: number } | undefined;
    for (const [depth, segment] of path.entries()) {
      if (isMap(node)) {
        const pair = node.items.find((item) => isPair(item) && isScalar(item.key) && String(item.key.value) === String(segment));
        if (!pair) break;
        const line = this.line(pair.key as Node);
        if (line !== undefined) best = { line, depth: depth + 1 };
        node = pair.value;
      } else if (isSeq(node) && typeof segment === 'number') {
        const item = node.items[segment] as Node | undefined;
        if (!item) break;
        const line = this.line(item);
        if (line !== undefined) best = { line, depth: depth + 1 };
        node = item;
      } else {
        break;
      }
    }
    return best;
  }
}

function firstLine(message: string): string {
  return message.split('\n')[0]!.trim();
}

function formatBytes(bytes: number): string {
  if (bytes >= 1024 * 1024) return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
  if (bytes >= 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${bytes} bytes`;
}
