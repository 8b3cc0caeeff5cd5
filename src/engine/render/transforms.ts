// Which written lines a kustomization's transformers put into one rendered object: the patches that
// target it (strategic merge or JSON 6902, in a file or inline), its `images:`, `namespace:` and
// `commonAnnotations:`/`commonLabels:` entries. A Flux Kustomization's spec holds the same fields.
import { isRecord } from '../model.js';
import type { LineNode, YamlDocument } from '../repo/yaml-file.js';
import { resolveInRepo } from './kustomization-refs.js';
import { inlineDocuments, originTree, pointerPath, type Layer, type Override, type SourceLineNode } from './origin-lines.js';

/** A kustomization file (`fields: []`) or a Flux Kustomization (`fields: ['spec']`) whose transformers ran. */
export interface TransformSource {
  doc: YamlDocument;
  /** Where the fields are in the document (a HelmRelease's post-renderer: spec.postRenderers.<i>.kustomize). */
  fields: Array<string | number>;
  /** The folder its relative patch paths start from. */
  dir: string;
  flux: boolean;
}

export type DocumentsOf = (path: string) => Promise<YamlDocument[]>;

/** The rendered object's line tree: the base document, then every source's transformers over it. */
export async function renderedLines(
  object: Record<string, unknown>,
  base: YamlDocument | undefined,
  sources: TransformSource[],
  documentsOf: DocumentsOf,
  fallback: { line: number; file: string },
): Promise<SourceLineNode> {
  const layers: Layer[] = base ? [{ value: base.value, lines: base.lines, file: base.file }] : [];
  const overrides: Override[] = [];
  const metadata = isRecord(object.metadata) ? object.metadata : {};
  const baseMetadata = base && isRecord(base.value) && isRecord(base.value.metadata) ? base.value.metadata : {};
  const identity = {
    kind: String(object.kind ?? ''),
    names: [metadata.name, baseMetadata.name].filter((n): n is string => typeof n === 'string'),
    namespace: typeof metadata.namespace === 'string' ? metadata.namespace : undefined,
    labels: isRecord(metadata.labels) ? metadata.labels : {},
  };
  for (const source of sources) {
    const fields = valueAt(source.doc.value, source.fields);
    const lines = linesAt(source.doc.lines, source.fields);
    if (!isRecord(fields) || !lines) continue;
    const file = source.doc.file;
    const applyPatch = (patch: Layer, target: unknown) => {
      if (Array.isArray(patch.value)) {
        if (!targets(target, undefined, identity)) return;
        patch.value.forEach((op, k) => {
          const opLines = patch.lines.items?.[k];
          if (!isRecord(op) || !opLines || typeof op.path !== 'string' || !['add', 'replace', 'copy', 'move'].includes(String(op.op))) return;
          const path = pointerPath(op.path, object);
          if (!path) return;
          const valueLines = opLines.keys?.value;
          overrides.push({ path, layer: valueLines && 'value' in op ? { value: op.value, lines: valueLines, file: patch.file } : { value: undefined, lines: opLines, file: patch.file } });
        });
      } else if (isRecord(patch.value) && targets(target, patch.value, identity)) {
        layers.push({ ...patch, value: withoutIdentity(patch.value) });
      }
    };
    const patchDocs = async (entry: unknown, entryLines: LineNode | undefined): Promise<Layer[]> => {
      const inline = (text: string, keyLines: LineNode | undefined) => inlineDocuments(file, text, keyLines?.line ?? lines.line).map((doc) => ({ ...doc, file }));
      if (typeof entry === 'string') {
        if (entry.includes('\n')) return inline(entry, entryLines);
        const path = resolveInRepo(source.dir, entry);
        return path ? (await documentsOf(path)).map((doc) => ({ value: doc.value, lines: doc.lines, file: doc.file })) : [];
      }
      if (!isRecord(entry)) return [];
      if (typeof entry.path === 'string') return patchDocs(entry.path, undefined);
      if (typeof entry.patch === 'string') return inline(entry.patch, entryLines?.keys?.patch);
      // Flux's patchesJson6902 and patchesStrategicMerge hold the patch as YAML, not text.
      if (Array.isArray(entry.patch) && entryLines?.keys?.patch) return [{ value: entry.patch, lines: entryLines.keys.patch, file }];
      return [];
    };
    for (const field of ['patchesStrategicMerge', 'patches', 'patchesJson6902']) {
      const list = fields[field];
      if (!Array.isArray(list)) continue;
      for (const [i, entry] of list.entries()) {
        const entryLines = lines.keys?.[field]?.items?.[i];
        if (source.flux && field === 'patchesStrategicMerge' && isRecord(entry) && entryLines) {
          applyPatch({ value: entry, lines: entryLines, file }, undefined);
          continue;
        }
        for (const patch of await patchDocs(entry, entryLines)) applyPatch(patch, isRecord(entry) ? entry.target : undefined);
      }
    }
    const images = fields.images;
    if (Array.isArray(images)) {
      images.forEach((entry, i) => {
        const entryLines = lines.keys?.images?.items?.[i];
        if (!isRecord(entry) || typeof entry.name !== 'string' || !entryLines) return;
        const name = typeof entry.newName === 'string' && entry.newName !== '' ? entry.newName : entry.name;
        const at = entryLines.keys?.newTag ?? entryLines.keys?.digest ?? entryLines.keys?.newName ?? entryLines;
        for (const path of containerImagePaths(object)) {
          const image = valueAt(object, path);
          if (typeof image === 'string' && imageName(image) === name) overrides.push({ path, layer: { value: image, lines: at, file } });
        }
      });
    }
    const namespaceField = source.flux ? 'targetNamespace' : 'namespace';
    const namespaceLines = lines.keys?.[namespaceField];
    if (typeof fields[namespaceField] === 'string' && namespaceLines && identity.namespace === fields[namespaceField]) {
      overrides.push({ path: ['metadata', 'namespace'], layer: { value: identity.namespace, lines: namespaceLines, file } });
    }
    // Where common labels and annotations are written, and what they set: kustomize's
    // commonAnnotations/commonLabels the object and its pod template; a Flux Kustomization's
    // commonMetadata, set after the build, only the object's own metadata.
    type Common = [Array<string | number>, 'annotations' | 'labels', string[][]];
    const common: Common[] = [
      [['commonAnnotations'], 'annotations', [['metadata'], ['spec', 'template', 'metadata']]],
      [['commonLabels'], 'labels', [['metadata'], ['spec', 'template', 'metadata']]],
    ];
    if (source.flux) common.push([['commonMetadata', 'annotations'], 'annotations', [['metadata']]], [['commonMetadata', 'labels'], 'labels', [['metadata']]]);
    for (const [field, key, prefixes] of common) {
      const entries = valueAt(fields, field);
      const entriesLines = linesAt(lines, field);
      if (!isRecord(entries) || !entriesLines) continue;
      for (const name of Object.keys(entries)) {
        const at = entriesLines.keys?.[name];
        if (!at) continue;
        for (const prefix of prefixes) overrides.push({ path: [...prefix, key, name], layer: { value: entries[name], lines: at, file } });
      }
    }
  }
  return originTree(object, layers, overrides, fallback);
}

/** A strategic merge patch names its target by apiVersion, kind, name and namespace; it sets none of them. */
function withoutIdentity(patch: Record<string, unknown>): Record<string, unknown> {
  const { apiVersion: _apiVersion, kind: _kind, ...rest } = patch;
  if (!isRecord(rest.metadata)) return rest;
  const { name: _name, namespace: _namespace, ...metadata } = rest.metadata;
  return { ...rest, metadata };
}

interface Identity {
  kind: string;
  /** The object's name now and in its base (before namePrefix/nameSuffix). */
  names: string[];
  namespace?: string;
  labels: Record<string, unknown>;
}

/** kustomize's patch targeting: a `target:` selector, else the patch's own kind and name. */
function targets(target: unknown, patch: Record<string, unknown> | undefined, identity: Identity): boolean {
  if (isRecord(target)) {
    if (typeof target.kind === 'string' && target.kind !== '' && target.kind !== identity.kind) return false;
    if (typeof target.name === 'string' && target.name !== '') {
      let pattern: RegExp;
      try {
        pattern = new RegExp(`^(?:${target.name})$`);
      } catch {
        return false;
      }
      if (!identity.names.some((name) => pattern.test(name))) return false;
    }
    if (typeof target.namespace === 'string' && target.namespace !== '' && target.namespace !== identity.namespace) return false;
    if (typeof target.labelSelector === 'string' && !selects(target.labelSelector, identity.labels)) return false;
    return true;
  }
  if (!patch) return false;
  const metadata = isRecord(patch.metadata) ? patch.metadata : {};
  return patch.kind === identity.kind && typeof metadata.name === 'string' && identity.names.includes(metadata.name);
}

/** Equality and existence terms of a label selector (`app=web,tier`), the forms patches use. */
function selects(selector: string, labels: Record<string, unknown>): boolean {
  return selector
    .split(',')
    .map((term) => term.trim())
    .filter((term) => term !== '')
    .every((term) => {
      const [key, value] = term.split(/!=|==|=/).map((part) => part.trim());
      if (value === undefined) return key !== undefined && Object.hasOwn(labels, key);
      return term.includes('!=') ? labels[key!] !== value : labels[key!] === value;
    });
}

const CONTAINER_LISTS = new Set(['containers', 'initContainers', 'ephemeralContainers']);

/** Paths of every container's `image` in the object, wherever its pod spec sits. */
function containerImagePaths(object: unknown): Array<Array<string | number>> {
  const paths: Array<Array<string | number>> = [];
  const visit = (value: unknown, path: Array<string | number>) => {
    if (!isRecord(value)) return;
    for (const [key, child] of Object.entries(value)) {
      if (CONTAINER_LISTS.has(key) && Array.isArray(child)) {
        child.forEach((container, i) => {
          if (isRecord(container) && typeof container.image === 'string') paths.push([...path, key, i, 'image']);
        });
      } else if (isRecord(child)) {
        visit(child, [...path, key]);
      }
    }
  };
  visit(object, []);
  return paths;
}

/** An image reference without its tag and digest, as kustomize's images: entries name it. */
function imageName(image: string): string {
  const withoutDigest = image.split('@')[0]!;
  const slash = withoutDigest.lastIndexOf('/');
  const colon = withoutDigest.lastIndexOf(':');
  return colon > slash ? withoutDigest.slice(0, colon) : withoutDigest;
}

function valueAt(value: unknown, path: Array<string | number>): unknown {
  let node = value;
  for (const segment of path) {
    if (typeof segment === 'number') node = Array.isArray(node) ? node[segment] : undefined;
    else node = isRecord(node) && Object.hasOwn(node, segment) ? node[segment] : undefined;
  }
  return node;
}

function linesAt(lines: LineNode, path: Array<string | number>): LineNode | undefined {
  let node: LineNode | undefined = lines;
  for (const segment of path) {
    if (typeof segment === 'number') node = node?.items?.[segment];
    else node = node?.keys && Object.hasOwn(node.keys, segment) ? node.keys[segment] : undefined;
  }
  return node;
}
