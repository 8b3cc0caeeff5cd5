// The lines a person edits for each field of a rendered object. kustomize names the file an object
// comes from and the kustomizations whose transformers ran over it; this module lays the written
// forms over one another (the base, then each patch that targets the object, then images:,
// namespace: and commonAnnotations: entries), so every field of the rendered object points at the
// line that set it last: the base's line, or the patch's, or the overlay's `images:` entry.
import { isRecord, type Location } from '../model.js';
import { parseYamlFile, type LineNode, type YamlDocument } from '../repo/yaml-file.js';

/** A line-tree node that may lie in another file than its document: a field a patch set. */
export interface SourceLineNode extends LineNode {
  /** The file of `line`; the document's own file when absent. */
  file?: string;
  keys?: Record<string, SourceLineNode>;
  items?: SourceLineNode[];
}

/** Where the deepest existing node along `path` of a document is written. */
export function fieldLocation(doc: YamlDocument, path: Array<string | number>): Location {
  let node: SourceLineNode = doc.lines;
  for (const segment of path) {
    const next = childNode(node, segment);
    if (!next) break;
    node = next;
  }
  return nodeLocation(doc, node);
}

export function nodeLocation(doc: YamlDocument, node: LineNode): Location {
  return { file: (node as SourceLineNode).file ?? doc.file, line: node.line };
}

/** A written form of an object, or of part of it: its value and lines in `file`. */
export interface Layer {
  value: unknown;
  lines: LineNode;
  file: string;
}

/** A layer placed at a field path of the object (a JSON 6902 operation, an `images:` entry...). */
export interface Override {
  path: Array<string | number>;
  layer: Layer;
}

/**
 * The line tree of `rendered`: each scalar at the line of the last layer that wrote it, each mapping
 * and list at the line of the first layer that has it (where it was declared). `layers` run from
 * the base to the last patch; `overrides` apply after them, in order.
 */
export function originTree(rendered: unknown, layers: Layer[], overrides: Override[], fallback: { line: number; file: string }): SourceLineNode {
  const tree = build(rendered, [...layers].reverse(), fallback);
  for (const override of overrides) place(tree, rendered, override);
  return tree;
}

// Keys whose value tells items of a list apart, as strategic merge patches match them.
const MERGE_KEYS = ['name', 'containerPort', 'mountPath', 'devicePath', 'ip', 'topologyKey'];

/** `layers`: highest priority (last writer) first. */
function build(rendered: unknown, layers: Layer[], parent: { line: number; file: string }): SourceLineNode {
  const collection = isRecord(rendered) || Array.isArray(rendered);
  const from = collection ? layers[layers.length - 1] : layers[0];
  // A layer's node may name its own file (a Helm value traced into a template's output).
  const here = from ? { line: from.lines.line, file: (from.lines as SourceLineNode).file ?? from.file } : parent;
  const node: SourceLineNode = { line: here.line, file: here.file };
  if (isRecord(rendered)) {
    const keys: Record<string, SourceLineNode> = {};
    for (const key of Object.keys(rendered)) {
      const below = layers.flatMap((layer) => {
        const lines = layer.lines.keys && Object.hasOwn(layer.lines.keys, key) ? layer.lines.keys[key] : undefined;
        return isRecord(layer.value) && Object.hasOwn(layer.value, key) && lines ? [{ value: layer.value[key], lines, file: layer.file }] : [];
      });
      // `__proto__` is a legal key and must stay data.
      Object.defineProperty(keys, key, { value: build(rendered[key], below, here), enumerable: true, writable: true, configurable: true });
    }
    node.keys = keys;
  } else if (Array.isArray(rendered)) {
    node.items = rendered.map((item, j) => build(item, layers.flatMap((layer) => aligned(layer, rendered, j)), here));
  }
  return node;
}

function aligned(layer: Layer, rendered: unknown[], j: number): Layer[] {
  const items = layer.lines.items;
  if (!Array.isArray(layer.value) || !items) return [];
  const item = rendered[j];
  const key = isRecord(item) ? MERGE_KEYS.find((k) => typeof item[k] === 'string' || typeof item[k] === 'number') : undefined;
  if (key !== undefined && isRecord(item)) {
    const i = layer.value.findIndex((candidate) => isRecord(candidate) && candidate[key] === item[key]);
    return i >= 0 && items[i] ? [{ value: layer.value[i], lines: items[i]!, file: layer.file }] : [];
  }
  return layer.value.length === rendered.length && items[j] ? [{ value: layer.value[j], lines: items[j]!, file: layer.file }] : [];
}

function place(tree: SourceLineNode, rendered: unknown, override: Override): void {
  if (override.path.length === 0) return;
  let node = tree;
  let value = rendered;
  for (const segment of override.path.slice(0, -1)) {
    const next = childNode(node, segment);
    value = childValue(value, segment);
    if (!next || value === undefined) return;
    node = next;
  }
  const last = override.path[override.path.length - 1]!;
  const target = childValue(value, last);
  if (target === undefined) return;
  const replacement = build(target, [override.layer], { line: override.layer.lines.line, file: override.layer.file });
  if (typeof last === 'number') {
    if (node.items && last < node.items.length) node.items[last] = replacement;
  } else if (node.keys) {
    Object.defineProperty(node.keys, last, { value: replacement, enumerable: true, writable: true, configurable: true });
  }
}

function childNode(node: SourceLineNode, segment: string | number): SourceLineNode | undefined {
  if (typeof segment === 'number') return node.items?.[segment];
  return node.keys && Object.hasOwn(node.keys, segment) ? node.keys[segment] : undefined;
}

function childValue(value: unknown, segment: string | number): unknown {
  if (typeof segment === 'number') return Array.isArray(value) ? value[segment] : undefined;
  return isRecord(value) && Object.hasOwn(value, segment) ? value[segment] : undefined;
}

/** A line tree moved to another file and shifted by `offset` lines (an inline patch inside a kustomization). */
export function shifted(lines: LineNode, offset: number): LineNode {
  return {
    line: lines.line + offset,
    ...(lines.keys ? { keys: Object.fromEntries(Object.entries(lines.keys).map(([k, v]) => [k, shifted(v, offset)])) } : {}),
    ...(lines.items ? { items: lines.items.map((item) => shifted(item, offset)) } : {}),
  };
}

/**
 * The documents of a patch written inline in `file`, as a block scalar whose key is at `keyLine`:
 * each document's lines as they are in `file`.
 */
export function inlineDocuments(file: string, text: string, keyLine: number): Array<{ value: unknown; lines: LineNode }> {
  return parseYamlFile(file, text).documents.map((doc) => ({ value: doc.value, lines: shifted(doc.lines, keyLine) }));
}

/** RFC 6901 pointer → field path, reading numbers (and `-`, the end) where the object has a list. */
export function pointerPath(pointer: string, object: unknown): Array<string | number> | undefined {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) return undefined;
  const path: Array<string | number> = [];
  let value = object;
  for (const raw of pointer.slice(1).split('/')) {
    const token = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (Array.isArray(value)) {
      const index = token === '-' ? value.length - 1 : /^\d+$/.test(token) ? Number(token) : NaN;
      if (Number.isNaN(index)) return undefined;
      path.push(index);
      value = value[index];
    } else {
      path.push(token);
      value = isRecord(value) ? value[token] : undefined;
    }
  }
  return path;
}
