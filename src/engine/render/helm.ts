// A Helm chart of the repository rendered as `helm template` renders it, each object pointing at
// the line a person edits: the template it came from (Helm's `# Source:` line) and the object's
// `kind:` line in it; or, for a field whose value comes from the release's values (an image built
// from image.repository and image.tag, a securityContext written with toYaml), the values line that
// set it: the HelmRelease's `values:`, a valuesFrom ConfigMap, an Application's values, or the
// chart's own values.yaml; or a post-renderer's patch or images: entry in the HelmRelease.
import { isRecord } from '../model.js';
import type { Location } from '../model.js';
import type { FetchFailureReason, HelmValues, RemoteChart, RenderedObject, RenderSession } from '../ports.js';
import { gvkOf, ScopeTable, type KubernetesObject } from '../repo/kubernetes.js';
import type { RepoFiles } from '../repo/repo-files.js';
import type { LineNode, YamlDocument } from '../repo/yaml-file.js';
import { originTree, type Layer, type SourceLineNode } from './origin-lines.js';
import { renderedLines, type TransformSource } from './transforms.js';

/** One layer of values, with where it is written when the repository holds it (for the lines). */
export interface TracedValues {
  values: HelmValues;
  /** The values as written, with their lines; absent for --set parameters. */
  layer?: Layer;
}

export interface ChartRequest {
  /** The chart folder, relative to the repository root (ignored for a remote chart). */
  chart: string;
  /**
   * A chart from a Helm repository or OCI registry, and the line that names it: its templates are
   * not in the repository, so what the release's values do not set is reported there.
   */
  remote?: { chart: RemoteChart; at: Location };
  releaseName: string;
  namespace: string;
  /** Lowest priority first; the chart's values.yaml is added below them. */
  values: TracedValues[];
  includeCRDs: boolean;
  /** Flux: spec.postRenderers, spec.commonMetadata and the origin labels. */
  flux?: { doc: YamlDocument; postRenderers: unknown[]; labels: Record<string, string>; annotations?: Record<string, string> };
}

export type ChartOutcome = { ok: true; documents: YamlDocument[]; version?: string } | { ok: false; error: string; fetch?: { reason: FetchFailureReason } };

export async function renderChart(request: ChartRequest, files: RepoFiles, session: () => Promise<RenderSession>): Promise<ChartOutcome> {
  const outcome = await (
    await session()
  ).render({
    kind: 'helm',
    chart: request.chart,
    ...(request.remote ? { remote: request.remote.chart } : {}),
    releaseName: request.releaseName,
    namespace: request.namespace,
    values: request.values.map((v) => v.values),
    includeCRDs: request.includeCRDs,
    ...(request.flux
      ? { postRenderers: request.flux.postRenderers, labels: request.flux.labels, ...(request.flux.annotations ? { annotations: request.flux.annotations } : {}) }
      : {}),
  });
  if (!outcome.ok) return outcome;

  const remote = request.remote;
  const chartValues = remote ? undefined : (await files.documents([join(request.chart, 'values.yaml')])).documents[0];
  const layers: Layer[] = [];
  if (chartValues && isRecord(chartValues.value)) layers.push({ value: chartValues.value, lines: chartValues.lines, file: chartValues.file });
  for (const traced of request.values) if (traced.layer) layers.push(traced.layer);
  const merged = layers.reduce<Record<string, unknown>>((all, layer) => (isRecord(layer.value) ? mergeMaps(all, layer.value) : all), {});
  const valueTree = originTree(merged, layers, [], remote ? remote.at : { line: 1, file: join(request.chart, 'values.yaml') });
  const leaves = valueLeaves(merged, valueTree);
  const subtrees = valueSubtrees(merged, valueTree);

  const scopes = new ScopeTable();
  for (const rendered of outcome.objects) if (isKubernetesObject(rendered.object)) scopes.learn(rendered.object);
  const texts = new Map<string, string>();
  const seenPerTemplate = new Map<string, number>();
  const documents: YamlDocument[] = [];
  for (const rendered of outcome.objects) {
    const object = rendered.object;
    // The namespace Helm's client gives a namespaced object that does not name one, when it applies it.
    if (isKubernetesObject(object) && !scopes.isClusterScoped(gvkOf(object))) {
      const metadata = isRecord(object.metadata) ? object.metadata : {};
      if (typeof metadata.namespace !== 'string' || metadata.namespace === '') object.metadata = { ...metadata, namespace: request.namespace };
    }
    const template = remote ? `${remote.at.file}\0${rendered.source ?? ''}` : templateFile(request.chart, rendered);
    const file = remote ? remote.at.file : template;
    const nth = seenPerTemplate.get(template) ?? 0;
    seenPerTemplate.set(template, nth + 1);
    const base = remote ? { line: remote.at.line } : await baseLocation(file, nth, object, files, texts);
    const tree = originTree(object, base.doc ? [{ value: base.doc.value, lines: base.doc.lines, file }] : [], [], { line: base.line, file });
    traceValues(object, tree, leaves, subtrees);
    const lines = request.flux ? await postRendererLines(object, tree, file, request.flux, files) : tree;
    documents.push({ file, index: nth, value: object, line: base.line, kindLine: base.line, lines });
  }
  return { ok: true, documents, ...(outcome.chart ? { version: outcome.chart.version } : {}) };
}

/** Flux's release name: spec.releaseName, else [targetNamespace-]name, shortened past 53 characters as Flux does. */
export async function fluxReleaseName(name: string, spec: Record<string, unknown>): Promise<string> {
  const written = typeof spec.releaseName === 'string' && spec.releaseName !== '' ? spec.releaseName : typeof spec.targetNamespace === 'string' && spec.targetNamespace !== '' ? `${spec.targetNamespace}-${name}` : name;
  if (written.length <= 53) return written;
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(written));
  const hex = [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
  return `${written.slice(0, 40)}-${hex.slice(0, 12)}`;
}

/** The repository file of a rendered object: `<chart name>/templates/x.yaml` under the chart's folder. */
function templateFile(chart: string, rendered: RenderedObject): string {
  const source = rendered.source ?? '';
  const slash = source.indexOf('/');
  return slash < 0 ? join(chart, 'Chart.yaml') : join(chart, source.slice(slash + 1));
}

/**
 * Where the object is written: a CRD file is YAML (its document); a template is text until rendered,
 * so the object's line is its `kind:` line (the nth in the template for its nth object).
 */
async function baseLocation(file: string, nth: number, object: Record<string, unknown>, files: RepoFiles, texts: Map<string, string>): Promise<{ line: number; doc?: YamlDocument }> {
  if (/\/crds\//.test(file)) {
    const docs = (await files.documents([file])).documents;
    const doc = docs.find((d) => isRecord(d.value) && isRecord(d.value.metadata) && isRecord(object.metadata) && d.value.metadata.name === object.metadata.name) ?? docs[nth];
    if (doc) return { line: doc.kindLine, doc };
  }
  if (!texts.has(file)) texts.set(file, (await files.texts([file])).get(file) ?? '');
  const lines = texts.get(file)!.split('\n');
  const kindLines: number[] = [];
  lines.forEach((text, i) => {
    if (/^kind:/.test(text)) kindLines.push(i + 1);
  });
  const same = kindLines.filter((n) => lines[n - 1]!.replace(/^kind:\s*/, '').replace(/["'\s]/g, '') === String(object.kind));
  return { line: kindLines[nth] !== undefined && same.includes(kindLines[nth]!) ? kindLines[nth]! : (same[0] ?? kindLines[0] ?? 1) };
}

interface Leaf {
  value: string;
  key: string;
  node: SourceLineNode;
}

function valueLeaves(values: unknown, tree: SourceLineNode): Leaf[] {
  const leaves: Leaf[] = [];
  const visit = (value: unknown, node: SourceLineNode | undefined, key: string) => {
    if (!node) return;
    if (isRecord(value)) for (const [k, v] of Object.entries(value)) visit(v, node.keys?.[k], k);
    else if (Array.isArray(value)) value.forEach((v, i) => visit(v, node.items?.[i], key));
    else if ((typeof value === 'string' && value.length >= 2) || typeof value === 'number') leaves.push({ value: String(value), key, node });
  };
  visit(values, tree, '');
  return leaves;
}

/** Every non-empty mapping of the values, by its JSON, when only one mapping has that content. */
function valueSubtrees(values: unknown, tree: SourceLineNode): Map<string, SourceLineNode> {
  const found = new Map<string, SourceLineNode | undefined>();
  const visit = (value: unknown, node: SourceLineNode | undefined, depth: number) => {
    if (!node) return;
    if (isRecord(value)) {
      if (depth > 0 && Object.keys(value).length > 0) {
        const key = canonical(value);
        found.set(key, found.has(key) ? undefined : node);
      }
      for (const [k, v] of Object.entries(value)) visit(v, node.keys?.[k], depth + 1);
    } else if (Array.isArray(value)) {
      value.forEach((v, i) => visit(v, node.items?.[i], depth + 1));
    }
  };
  visit(values, tree, 0);
  return new Map([...found].filter((entry): entry is [string, SourceLineNode] => entry[1] !== undefined));
}

/**
 * Lays the values' lines over the template's: a mapping of the output equal to a mapping of the
 * values (toYaml of .Values.x) takes the values' lines; a container image takes the line of the
 * value it was built from (the tag, else the digest, else the repository), or of the whole image.
 */
function traceValues(object: unknown, tree: SourceLineNode, leaves: Leaf[], subtrees: Map<string, SourceLineNode>): void {
  const visit = (value: unknown, node: SourceLineNode, key: string, parentKey: string) => {
    if (isRecord(value)) {
      const match = Object.keys(value).length > 0 ? subtrees.get(canonical(value)) : undefined;
      if (match) return void graft(node, match);
      for (const [k, v] of Object.entries(value)) {
        const child = node.keys?.[k];
        if (child) visit(v, child, k, key);
      }
    } else if (Array.isArray(value)) {
      value.forEach((v, i) => {
        const child = node.items?.[i];
        if (child) visit(v, child, key, parentKey);
      });
    } else if (typeof value === 'string' && key === 'image' && ['containers', 'initContainers', 'ephemeralContainers'].includes(parentKey)) {
      const leaf = imageLeaf(value, leaves);
      if (leaf) graft(node, leaf.node);
    }
  };
  visit(object, tree, '', '');
}

function imageLeaf(image: string, leaves: Leaf[]): Leaf | undefined {
  const whole = leaves.find((leaf) => leaf.value === image);
  if (whole) return whole;
  const tag = leaves.find((leaf) => image.endsWith(`:${leaf.value}`) || image.endsWith(`@${leaf.value}`));
  if (tag) return tag;
  const repository = leaves.filter((leaf) => /repo|image|name/i.test(leaf.key) && leaf.value.includes('/') && (image.includes(`/${leaf.value}`) || image.startsWith(leaf.value)));
  return repository.sort((a, b) => b.value.length - a.value.length)[0];
}

function graft(node: SourceLineNode, from: SourceLineNode): void {
  node.line = from.line;
  node.file = from.file;
  if (from.keys && node.keys) for (const [k, child] of Object.entries(node.keys)) if (from.keys[k]) graft(child, from.keys[k]);
  if (from.items && node.items) node.items.forEach((child, i) => from.items?.[i] && graft(child, from.items[i]!));
}

/** A HelmRelease's kustomize post-renderers, whose patches and images: entries set fields last. */
async function postRendererLines(object: Record<string, unknown>, tree: SourceLineNode, file: string, flux: NonNullable<ChartRequest['flux']>, files: RepoFiles): Promise<SourceLineNode> {
  const sources: TransformSource[] = [];
  flux.postRenderers.forEach((renderer, i) => {
    if (isRecord(renderer) && isRecord(renderer.kustomize)) sources.push({ doc: flux.doc, fields: ['spec', 'postRenderers', i, 'kustomize'], dir: '', flux: true });
  });
  if (sources.length === 0) return tree;
  const base: YamlDocument = { file, index: 0, value: object, line: tree.line, kindLine: tree.line, lines: tree as LineNode };
  return renderedLines(object, base, sources, async (p) => (await files.documents([p])).documents, { line: tree.line, file });
}

function mergeMaps(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...a };
  for (const [k, v] of Object.entries(b)) {
    const existing = out[k];
    out[k] = isRecord(v) && isRecord(existing) ? mergeMaps(existing, v) : v;
  }
  return out;
}

function canonical(value: unknown): string {
  if (isRecord(value)) return `{${Object.keys(value).sort().map((k) => `${JSON.stringify(k)}:${canonical(value[k])}`).join(',')}}`;
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  return JSON.stringify(value) ?? 'null';
}

function isKubernetesObject(value: unknown): value is KubernetesObject {
  return isRecord(value) && typeof value.apiVersion === 'string' && typeof value.kind === 'string';
}

export function join(dir: string, path: string): string {
  return dir === '' ? path : `${dir}/${path}`;
}
