// Argo CD's words for what an Application applies: which of its sources are this repository, how
// a source's type is detected, which files a directory source reads (recurse, include, exclude), and
// its kustomize options as the Flux-style spec the renderer writes into a kustomization (as Argo
// runs `kustomize edit set ...` before `kustomize build`).
import { isRecord } from '../model.js';
import type { ArgoKustomizeEdits } from '../ports.js';
import type { YamlDocument } from '../repo/yaml-file.js';

export function isArgoApplication(value: unknown): value is Record<string, unknown> {
  return isRecord(value) && value.kind === 'Application' && typeof value.apiVersion === 'string' && value.apiVersion.startsWith('argoproj.io/');
}

/** The sources of an Application, each with the field path it is written at. */
export function argoSources(app: Record<string, unknown>): Array<{ source: Record<string, unknown>; at: Array<string | number> }> {
  const spec = isRecord(app.spec) ? app.spec : {};
  if (Array.isArray(spec.sources) && spec.sources.length > 0) {
    return spec.sources.flatMap((source, i) => (isRecord(source) ? [{ source, at: ['spec', 'sources', i] }] : []));
  }
  return isRecord(spec.source) ? [{ source: spec.source, at: ['spec', 'source'] }] : [];
}

/** A repository URL as a comparable name: `github.com/owner/name` for its https, ssh and scp forms. */
export function normalizeRepoURL(url: string): string {
  return url
    .trim()
    .toLowerCase()
    .replace(/^[a-z+]+:\/\//, '')
    .replace(/^[^@/]+@/, '')
    .replace(/^([^/:]+):(?!\d)/, '$1/')
    .replace(/\.git$/, '')
    .replace(/\/+$/, '');
}

/**
 * The Applications that are this cluster's entry points: with several Cluster files, those whose
 * destination.name is the cluster's name or that are written under a folder named after it; with
 * one, every Application that no other Application's path reaches (the roots of app-of-apps), or
 * all of them when they reach one another.
 */
export function argoRoots(clusterName: string, clusterCount: number, apps: YamlDocument[], inSourcePath: (doc: YamlDocument) => boolean): YamlDocument[] {
  if (clusterCount > 1) {
    return apps.filter((doc) => {
      const spec = (doc.value as Record<string, unknown>).spec;
      const destination = isRecord(spec) && isRecord(spec.destination) ? spec.destination : {};
      return destination.name === clusterName || doc.file.split('/').slice(0, -1).includes(clusterName);
    });
  }
  const roots = apps.filter((doc) => !inSourcePath(doc));
  // Applications that all manage one another (a root that syncs its own folder): each is an entry.
  return roots.length > 0 ? roots : apps;
}

/** Argo CD's glob (util/glob without separators: `*` also matches `/`), with `{a,b}` alternatives. */
export function argoGlob(pattern: string): RegExp {
  let out = '';
  let depth = 0;
  for (const c of pattern) {
    if (c === '*') out += '.*';
    else if (c === '?') out += '.';
    else if (c === '{') {
      depth++;
      out += '(?:';
    } else if (c === '}' && depth > 0) {
      depth--;
      out += ')';
    } else if (c === ',' && depth > 0) out += '|';
    else out += c.replace(/[.+^$()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${out}$`);
}

/** Argo's kustomize options as the spec fields the renderer writes into the folder's kustomization. */
export function argoKustomizeSpec(kustomize: Record<string, unknown>): Record<string, unknown> {
  const spec: Record<string, unknown> = {};
  if (typeof kustomize.namePrefix === 'string') spec.namePrefix = kustomize.namePrefix;
  if (typeof kustomize.nameSuffix === 'string') spec.nameSuffix = kustomize.nameSuffix;
  // The kustomization's namespace only when asked; the destination namespace is where objects that
  // name none are applied, which the caller gives them.
  if (typeof kustomize.namespace === 'string' && kustomize.namespace !== '') spec.targetNamespace = kustomize.namespace;
  if (Array.isArray(kustomize.images)) spec.images = kustomize.images.filter((i): i is string => typeof i === 'string').map(argoImage);
  if (Array.isArray(kustomize.patches)) spec.patches = kustomize.patches;
  if (Array.isArray(kustomize.components)) spec.components = kustomize.components;
  return spec;
}

/** Argo's kustomize options that Flux's spec cannot say, for the renderer to apply as Argo CD's `kustomize edit` does. */
export function argoKustomizeEdits(kustomize: Record<string, unknown>): ArgoKustomizeEdits | undefined {
  const edits: ArgoKustomizeEdits = {};
  const strings = (value: unknown) => (isRecord(value) ? Object.fromEntries(Object.entries(value).map(([k, v]) => [k, String(v)])) : undefined);
  const labels = strings(kustomize.commonLabels);
  const annotations = strings(kustomize.commonAnnotations);
  if (labels && Object.keys(labels).length > 0) edits.commonLabels = labels;
  if (annotations && Object.keys(annotations).length > 0) edits.commonAnnotations = annotations;
  for (const flag of ['forceCommonLabels', 'forceCommonAnnotations', 'labelWithoutSelector', 'labelIncludeTemplates'] as const) {
    if (kustomize[flag] === true) edits[flag] = true;
  }
  if (Array.isArray(kustomize.replicas)) {
    const replicas = kustomize.replicas.filter(isRecord).map((r) => ({ name: String(r.name), count: Number(r.count) }));
    if (replicas.length > 0) edits.replicas = replicas;
  }
  return edits.commonLabels || edits.commonAnnotations || edits.replicas ? edits : undefined;
}

/** `name=newName:tag`, `name:tag`, `name@digest` (kustomize edit set image's forms) as an images: entry. */
function argoImage(text: string): Record<string, string> {
  const [name, replacement] = text.includes('=') ? [text.slice(0, text.indexOf('=')), text.slice(text.indexOf('=') + 1)] : [undefined, text];
  const at = replacement.indexOf('@');
  const digest = at >= 0 ? replacement.slice(at + 1) : undefined;
  const withoutDigest = at >= 0 ? replacement.slice(0, at) : replacement;
  const slash = withoutDigest.lastIndexOf('/');
  const colon = withoutDigest.lastIndexOf(':');
  const tag = colon > slash ? withoutDigest.slice(colon + 1) : undefined;
  const image = colon > slash ? withoutDigest.slice(0, colon) : withoutDigest;
  const entry: Record<string, string> = { name: name ?? image };
  if (name !== undefined && image !== name) entry.newName = image;
  if (tag !== undefined) entry.newTag = tag;
  if (digest !== undefined) entry.digest = digest;
  return entry;
}
