// Finds the line a violation is about. Rego results carry only a message (and free-form details), so
// the engine reads them the way a person would: a field path in the details, else the container the
// message names and the deepest field of it that the message mentions, else a field of the evaluated
// object the message mentions (the shallowest: a Deployment's own labels before its pod template's),
// else the object's `kind:` line.
import { lineNodeAt, lineOfPath, type LineNode } from '../repo/yaml-file.js';
import { isRecord } from '../model.js';

export interface LineHint {
  /** The document as written, and its lines. */
  value: unknown;
  lines: LineNode;
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

export function violationLine(hint: LineHint): number {
  return violationNode(hint).line;
}

/** The node the violation is about: rendered objects' nodes may name the file (a patch) that set them. */
export function violationNode(hint: LineHint): LineNode {
  const fromDetails = detailsPathNode(hint);
  if (fromDetails !== undefined) return fromDetails;
  const container = mentionedContainer(hint)?.node;
  if (container) return mentionedKey(container, hint.message, 'deepest') ?? container;
  const evaluated = lineNodeAt(hint.lines, hint.objectPath) ?? hint.lines;
  return mentionedKey(evaluated, hint.message, 'shallowest') ?? kindNode(hint);
}

function kindNode(hint: LineHint): LineNode {
  const kind = hint.lines.keys?.kind;
  return kind && kind.line === hint.kindLine ? kind : { line: hint.kindLine };
}

function detailsPathNode(hint: LineHint): LineNode | undefined {
  if (!isRecord(hint.details)) return undefined;
  for (const value of Object.values(hint.details)) {
    const path = typeof value === 'string' ? fieldPath(value) : undefined;
    if (!path || path.length < 2) continue;
    // The path is the evaluated object's: an implied Pod's fields live under its workload's template.
    const full = [...hint.objectPath, ...path];
    const found = lineOfPath(hint.lines, full);
    if (found.depth >= hint.objectPath.length + 2) return lineNodeAt(hint.lines, full.slice(0, found.depth));
  }
  return undefined;
}

/**
 * Reads a field path as Kubernetes tools print them: `spec.containers[0].image`, with an optional
 * leading dot, and `["key.with.dots"]` for annotation keys. Undefined when it is not a path.
 */
export function fieldPath(text: string): Array<string | number> | undefined {
  const path: Array<string | number> = [];
  const token = /\.?([A-Za-z_][\w-]*)|\[(\d+)\]|\[(["'])((?:(?!\3).)*)\3\]/y;
  let offset = 0;
  while (offset < text.length) {
    token.lastIndex = offset;
    const match = token.exec(text);
    if (!match || (match[1] !== undefined && offset > 0 && text[offset] !== '.')) return undefined;
    if (match[1] !== undefined) path.push(match[1]);
    else if (match[2] !== undefined) path.push(Number(match[2]));
    else path.push(match[4]!);
    offset = token.lastIndex;
  }
  return path.length > 0 ? path : undefined;
}

/** The container the message names (the longest name of the pod specs' containers that it mentions). */
export function mentionedContainer(hint: Pick<LineHint, 'value' | 'lines' | 'message' | 'podSpecPaths'>): { node: LineNode; name: string } | undefined {
  let best: { node: LineNode; name: string } | undefined;
  for (const podSpecPath of hint.podSpecPaths) {
    const podSpec = valueAt(hint.value, podSpecPath);
    if (!isRecord(podSpec)) continue;
    for (const field of CONTAINER_FIELDS) {
      const list = podSpec[field];
      if (!Array.isArray(list)) continue;
      list.forEach((container, i) => {
        const name = isRecord(container) ? container.name : undefined;
        if (typeof name !== 'string' || name === '' || !mentions(hint.message, name)) return;
        const node = lineNodeAt(hint.lines, [...podSpecPath, field, i]);
        if (node && (!best || name.length > best.name.length)) best = { node, name };
      });
    }
  }
  return best;
}

function mentionedKey(node: LineNode, message: string, prefer: 'deepest' | 'shallowest'): LineNode | undefined {
  // Keys are plain identifiers: looking them up among the message's words beats a regex per key.
  const words = new Set(message.split(/[^A-Za-z0-9_-]+/));
  let best: { node: LineNode; depth: number } | undefined;
  const visit = (current: LineNode, depth: number) => {
    for (const [key, child] of Object.entries(current.keys ?? {})) {
      if (words.has(key) && !UNINFORMATIVE_KEYS.has(key)) {
        const better = !best || (prefer === 'deepest' ? depth > best.depth : depth < best.depth);
        if (better) best = { node: child, depth };
      }
      visit(child, depth + 1);
    }
    for (const item of current.items ?? []) visit(item, depth + 1);
  };
  visit(node, 0);
  return best?.node;
}

const mentionPatterns = new Map<string, RegExp>();

/** Whether `word` appears in `text` as a whole token (names may contain `-` and `.`). */
export function mentions(text: string, word: string): boolean {
  if (!text.includes(word)) return false;
  let pattern = mentionPatterns.get(word);
  if (!pattern) {
    pattern = new RegExp(`(^|[^A-Za-z0-9_-])${word.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}($|[^A-Za-z0-9_-])`);
    if (mentionPatterns.size > 10_000) mentionPatterns.clear();
    mentionPatterns.set(word, pattern);
  }
  return pattern.test(text);
}

export function valueAt(value: unknown, path: Array<string | number>): unknown {
  let node = value;
  for (const segment of path) {
    if (Array.isArray(node) && typeof segment === 'number') node = node[segment];
    else if (isRecord(node)) node = node[segment];
    else return undefined;
  }
  return node;
}
