// What changed in one Kubernetes object between two default-branch states, field by field, and
// which of the fields people ask about it touched (image, replicas, security context, resources).
// The diff is stored with each change, so it is kept compact: containers (and other lists of named
// entries) are compared by name, a list without names as one value, at most MAX_ENTRIES entries
// per object and MAX_VALUE_CHARS characters per value.
import { createHash } from 'node:crypto';

export const CHANGE_FIELDS = ['image', 'replicas', 'securityContext', 'resources', 'other'] as const;
export type ChangeField = (typeof CHANGE_FIELDS)[number];

export const CHANGE_TYPES = ['added', 'modified', 'removed', 'renamed'] as const;
export type ChangeType = (typeof CHANGE_TYPES)[number];

/** One field that differs: its path, and its value before and after (absent: the field was not there). */
export interface FieldChange {
  /** The field's path: `spec.template.spec.containers[web].image`, `metadata.labels["app.kubernetes.io/name"]`. */
  path: string;
  before?: unknown;
  after?: unknown;
}

export interface ObjectDiff {
  /** The kinds of field touched, in CHANGE_FIELDS order. */
  fields: ChangeField[];
  changes: FieldChange[];
  /** Entries left out past MAX_ENTRIES. */
  omitted: number;
}

export const MAX_ENTRIES = 50;
export const MAX_VALUE_CHARS = 1000;

/** The lists of a pod spec whose entries run an image. */
const CONTAINER_LISTS = new Set(['containers', 'initContainers', 'ephemeralContainers']);

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** JSON with object keys sorted: equal objects give equal text whatever their key order. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (isRecord(value)) {
    const keys = Object.keys(value).filter((k) => value[k] !== undefined).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(value[k])}`).join(',')}}`;
  }
  return JSON.stringify(value ?? null);
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex').slice(0, 32);

/** The object's content, for "did it change at all". */
export function contentHash(object: unknown): string {
  return sha256(canonicalJson(object));
}

/**
 * The object's content but for its name (metadata.name left out). A removed and an added object of
 * the same API group, kind and namespace with the same key are the same object renamed: nothing
 * else about it changed. A rename that also rewrites labels or selectors repeating the name is not
 * one by this test (a value equal to the name may as well be another object's name): it stays a
 * removal and an addition, never a guess.
 */
export function renameKey(object: Record<string, unknown>): string {
  const metadata = isRecord(object.metadata) ? object.metadata : {};
  const { name: _name, ...rest } = metadata;
  return sha256(canonicalJson({ ...object, metadata: rest }));
}

/** The images an object's containers run (pods, workloads' pod templates, CronJobs' job templates), in order of appearance. */
export function objectImages(object: unknown): string[] {
  const images: string[] = [];
  const walk = (value: unknown, inContainers: boolean) => {
    if (Array.isArray(value)) {
      for (const item of value) walk(item, inContainers);
      return;
    }
    if (!isRecord(value)) return;
    if (inContainers && typeof value.image === 'string' && !images.includes(value.image)) images.push(value.image);
    for (const [key, child] of Object.entries(value)) {
      if (key === 'metadata' || key === 'status') continue;
      walk(child, CONTAINER_LISTS.has(key));
    }
  };
  walk(object, false);
  return images;
}

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$-]*$/;

function keySegment(key: string): string {
  return IDENTIFIER.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`;
}

/** A list whose entries are all mappings with distinct string `name`s: compared entry by entry. */
function namedEntries(list: unknown[]): Map<string, unknown> | undefined {
  const entries = new Map<string, unknown>();
  for (const item of list) {
    if (!isRecord(item) || typeof item.name !== 'string' || entries.has(item.name)) return undefined;
    entries.set(item.name, item);
  }
  return entries;
}

interface Leaf {
  segments: string[];
  before: unknown;
  after: unknown;
}

function collect(before: unknown, after: unknown, segments: string[], out: Leaf[]): void {
  if (before === after) return;
  // Mappings are walked rather than serialised at every level: a push's objects are mostly alike.
  if (isRecord(before) && isRecord(after)) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
    for (const key of keys) collect(before[key], after[key], [...segments, key], out);
    return;
  }
  if (Array.isArray(before) && Array.isArray(after)) {
    const a = namedEntries(before);
    const b = namedEntries(after);
    if (a && b) {
      const names = [...a.keys(), ...[...b.keys()].filter((n) => !a.has(n))];
      for (const name of names) collect(a.get(name), b.get(name), [...segments, `[${name}]`], out);
      return;
    }
  }
  if (canonicalJson(before) === canonicalJson(after)) return;
  out.push({ segments, before, after });
}

/** The kinds of field a leaf touches: by its path, and for a whole value (a container added) by what it holds. */
function classify(leaf: Leaf): Set<ChangeField> {
  const fields = new Set<ChangeField>();
  const { segments } = leaf;
  const containerAt = segments.findIndex((s) => CONTAINER_LISTS.has(s));
  const inContainer = containerAt >= 0;
  const last = segments[segments.length - 1];
  if (segments.includes('securityContext')) fields.add('securityContext');
  if (inContainer && segments.slice(containerAt).includes('resources')) fields.add('resources');
  if (inContainer && last === 'image') fields.add('image');
  if (last === 'replicas' && segments.length === 2 && segments[0] === 'spec') fields.add('replicas');
  // A value holding these fields (a container added or removed, a pod spec replaced).
  const scan = (value: unknown, containers: boolean) => {
    if (Array.isArray(value)) return value.forEach((v) => scan(v, containers));
    if (!isRecord(value)) return;
    for (const [key, child] of Object.entries(value)) {
      if (key === 'securityContext') fields.add('securityContext');
      if (containers && key === 'resources') fields.add('resources');
      if (containers && key === 'image') fields.add('image');
      scan(child, containers || CONTAINER_LISTS.has(key));
    }
  };
  const wholeContainers = inContainer || (last !== undefined && CONTAINER_LISTS.has(last));
  scan(leaf.before, wholeContainers);
  scan(leaf.after, wholeContainers);
  if (fields.size === 0) fields.add('other');
  return fields;
}

/** A value as stored: as is when short, else its JSON cut to MAX_VALUE_CHARS with an ellipsis. */
function compact(value: unknown): unknown {
  if (value === undefined) return undefined;
  const text = canonicalJson(value);
  return text.length <= MAX_VALUE_CHARS ? (value as Json) : `${text.slice(0, MAX_VALUE_CHARS)}…`;
}

function pathText(segments: readonly string[]): string {
  return segments.map((s, i) => (s.startsWith('[') ? s : i === 0 && IDENTIFIER.test(s) ? s : keySegment(s))).join('');
}

/** What differs between two states of an object (`before`, `after` as decoded), for the history. */
export function diffObjects(before: unknown, after: unknown): ObjectDiff {
  const leaves: Leaf[] = [];
  collect(before, after, [], leaves);
  const fields = new Set<ChangeField>();
  for (const leaf of leaves) for (const field of classify(leaf)) fields.add(field);
  const changes = leaves.slice(0, MAX_ENTRIES).map((leaf) => {
    const change: FieldChange = { path: pathText(leaf.segments) };
    if (leaf.before !== undefined) change.before = compact(leaf.before);
    if (leaf.after !== undefined) change.after = compact(leaf.after);
    return change;
  });
  return { fields: CHANGE_FIELDS.filter((f) => fields.has(f)), changes, omitted: Math.max(0, leaves.length - MAX_ENTRIES) };
}
