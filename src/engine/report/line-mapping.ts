// Finds the line a violation is about. Rego results carry only a message (and free-form details), so
// the engine reads them the way a person would: a field path in the details, else the container the
// message names and the deepest field of it that the message mentions, else a field of the object the
// message mentions (the shallowest: a Deployment's own labels before its pod template's), else the
// object's `kind:` line.
import { isMap, isPair, isScalar, isSeq, type Node } from 'yaml';
import type { YamlPositions } from '../repo/yaml-file.js';

export interface LineHint {
  docIndex: number;
  kindLine: number;
  message: string;
  details: unknown;
  /** Path (inside the document) of the object that was evaluated: `[]`, or an implied Pod's source. */
  objectPath: string[];
  /** Paths (inside the document) of the pod specs the result may be about. */
  podSpecPaths: string[][];
}

const CONTAINER_FIELDS = ['containers', 'initContainers', 'ephemeralContainers'];
// Keys so common in messages and manifests that a mention says nothing about where the problem is.
const UNINFORMATIVE_KEYS = new Set(['apiVersion', 'kind', 'metadata', 'spec', 'name', 'namespace', 'template', 'key', 'value', 'type', 'items']);

export function violationLine(positions: YamlPositions, hint: LineHint): number {
  const root = positions.root(hint.docIndex);
  if (!root) return hint.kindLine;
  const fromDetails = detailsPathLine(positions, hint);
  if (fromDetails !== undefined) return fromDetails;

  const container = mentionedContainer(root, hint);
  if (container) {
    const field = mentionedKey(positions, container, hint.message, 'deepest');
    return field ?? positions.line(container) ?? hint.kindLine;
  }
  const evaluated = nodeAt(root, hint.objectPath);
  return mentionedKey(positions, (evaluated as Node | undefined) ?? root, hint.message, 'shallowest') ?? hint.kindLine;
}

function detailsPathLine(positions: YamlPositions, hint: LineHint): number | undefined {
  const details = hint.details;
  if (details === null || typeof details !== 'object') return undefined;
  for (const value of Object.values(details as Record<string, unknown>)) {
    if (typeof value !== 'string' || !/^\.?[A-Za-z][\w-]*(\.|\[)/.test(value)) continue;
    const path = value
      .replace(/^\./, '')
      .split(/\.|\[|\]/)
      .filter(Boolean)
      .map((part) => (/^\d+$/.test(part) ? Number(part) : part));
    const found = positions.lineOfPath(hint.docIndex, path);
    if (found && found.depth >= 2) return found.line;
  }
  return undefined;
}

function mentionedContainer(root: Node, hint: LineHint): Node | undefined {
  let best: { node: Node; length: number } | undefined;
  for (const podSpecPath of hint.podSpecPaths) {
    const podSpec = nodeAt(root, podSpecPath);
    if (!isMap(podSpec)) continue;
    for (const field of CONTAINER_FIELDS) {
      const list = podSpec.get(field, true);
      if (!isSeq(list)) continue;
      for (const item of list.items) {
        if (!isMap(item)) continue;
        const name = item.get('name');
        if (typeof name !== 'string' || name === '' || !mentions(hint.message, name)) continue;
        if (!best || name.length > best.length) best = { node: item as Node, length: name.length };
      }
    }
  }
  return best?.node;
}

function mentionedKey(positions: YamlPositions, node: Node, message: string, prefer: 'deepest' | 'shallowest'): number | undefined {
  let best: { line: number; depth: number } | undefined;
  const visit = (current: unknown, depth: number) => {
    if (isMap(current)) {
      for (const pair of current.items) {
        if (!isPair(pair) || !isScalar(pair.key)) continue;
        const key = String(pair.key.value);
        if (!UNINFORMATIVE_KEYS.has(key) && mentions(message, key)) {
          const line = positions.line(pair.key as Node);
          const better = !best || (prefer === 'deepest' ? depth > best.depth : depth < best.depth);
          if (line !== undefined && better) best = { line, depth };
        }
        visit(pair.value, depth + 1);
      }
    } else if (isSeq(current)) {
      for (const item of current.items) visit(item, depth + 1);
    }
  };
  visit(node, 0);
  return best?.line;
}

const mentionPatterns = new Map<string, RegExp>();

/** Whether `word` appears in `text` as a whole token (names may contain `-` and `.`). */
export function mentions(text: string, word: string): boolean {
  let pattern = mentionPatterns.get(word);
  if (!pattern) {
    pattern = new RegExp(`(^|[^A-Za-z0-9_-])${word.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}($|[^A-Za-z0-9_-])`);
    if (mentionPatterns.size > 10_000) mentionPatterns.clear();
    mentionPatterns.set(word, pattern);
  }
  return pattern.test(text);
}

function nodeAt(root: Node, path: Array<string | number>): unknown {
  let node: unknown = root;
  for (const segment of path) {
    if (isMap(node)) node = node.get(segment, true);
    else if (isSeq(node) && typeof segment === 'number') node = node.items[segment];
    else return undefined;
  }
  return node;
}

/** The line of `path` inside a document, for annotations and other known fields. */
export function lineOfField(positions: YamlPositions, docIndex: number, path: Array<string | number>, fallback: number): number {
  return positions.lineOfPath(docIndex, path)?.line ?? fallback;
}
