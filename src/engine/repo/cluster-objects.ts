// The objects a cluster applies as the cluster would store them (which files it applies is the
// render stage's question): with their effective namespace (Security Tower stage, else `default`,
// when rendering set none) and without a namespace for cluster-scoped kinds.
import { type ApplicationConfig, type InputError, isRecord } from '../model.js';
import { badMetadataEntry, gvkOf, NAMESPACE_NAME_LABEL, objectProblem, ScopeTable, type GroupVersionKind, type KubernetesObject } from './kubernetes.js';
import { isUnder, normalizeRepoPath } from './security-tower.js';
import { lineNodeAt, lineOfPath, type LineNode, type YamlDocument } from './yaml-file.js';

export interface SourceObject {
  object: KubernetesObject;
  gvk: GroupVersionKind;
  doc: YamlDocument;
}

export interface NamespaceRules {
  /** Folder → namespace forced by a kustomization's `namespace:` or a Flux Kustomization's `targetNamespace`. */
  overrides: Map<string, string>;
  /** Folder → namespace used when an object names none (Security Tower stage `targetNamespace`). */
  defaults: Map<string, string>;
}

export function namespaceRules(kustomizations: YamlDocument[], objects: YamlDocument[], applications: ApplicationConfig[], clusterName: string): NamespaceRules {
  const overrides = new Map<string, string>();
  for (const doc of kustomizations) {
    if (isRecord(doc.value) && typeof doc.value.namespace === 'string' && doc.value.namespace !== '') {
      overrides.set(doc.file.replace(/\/?[^/]+$/, ''), doc.value.namespace);
    }
  }
  for (const doc of objects) {
    const value = doc.value;
    if (!isRecord(value) || value.kind !== 'Kustomization' || typeof value.apiVersion !== 'string') continue;
    if (!value.apiVersion.startsWith('kustomize.toolkit.fluxcd.io/')) continue;
    const spec = isRecord(value.spec) ? value.spec : {};
    if (typeof spec.path === 'string' && typeof spec.targetNamespace === 'string' && spec.targetNamespace !== '') {
      overrides.set(normalizeRepoPath(spec.path), spec.targetNamespace);
    }
  }
  const defaults = new Map<string, string>();
  for (const app of applications) {
    for (const stage of app.stages) {
      if (stage.clusterName === clusterName && stage.targetNamespace) defaults.set(stage.resourcesPath, stage.targetNamespace);
    }
  }
  return { overrides, defaults };
}

function nearest(rules: Map<string, string>, file: string): string | undefined {
  let best: { folder: string; namespace: string } | undefined;
  for (const [folder, namespace] of rules) {
    if (isUnder(file, folder) && (!best || folder.length > best.folder.length)) best = { folder, namespace };
  }
  return best?.namespace;
}

/** Kustomize's own configuration kinds live in the repository but never in the cluster. */
function isToolingDocument(value: Record<string, unknown>): boolean {
  const apiVersion = String(value.apiVersion ?? '');
  if (apiVersion.startsWith('kustomize.config.k8s.io/')) return true;
  // A kubeconfig (cluster/metadata/kubeconfig.yaml in Security Tower's layout) is `v1 Config`.
  return apiVersion === 'v1' && value.kind === 'Config';
}

/**
 * Turns documents into cluster objects, reporting documents that are not Kubernetes objects and
 * objects declared twice; a namespace written on a cluster-scoped kind is a warning.
 */
export function clusterObjects(documents: YamlDocument[], rules: NamespaceRules): { objects: SourceObject[]; errors: InputError[]; warnings: InputError[] } {
  const errors: InputError[] = [];
  const warnings: InputError[] = [];
  const scopes = new ScopeTable();
  const candidates: Array<{ object: KubernetesObject; doc: YamlDocument }> = [];
  for (const doc of documents) {
    const location = { file: doc.file, line: doc.kindLine };
    if (isRecord(doc.value) && isToolingDocument(doc.value)) continue;
    const problem = objectProblem(doc.value);
    if (problem) {
      // A label or annotation that is not a string is reported on its own line.
      const metadata = isRecord(doc.value) && isRecord(doc.value.metadata) ? doc.value.metadata : undefined;
      const bad = metadata && badMetadataEntry(metadata);
      errors.push({ location: bad ? { file: doc.file, line: lineOfPath(doc.lines, bad.path).line } : location, code: 'manifest', message: problem });
      continue;
    }
    const value = doc.value as Record<string, unknown>;
    const object = { ...value, metadata: { ...((value.metadata as Record<string, unknown> | undefined) ?? {}) } } as KubernetesObject;
    scopes.learn(object);
    candidates.push({ object, doc });
  }
  const objects: SourceObject[] = [];
  const seen = new Map<string, SourceObject>();
  for (const { object, doc } of candidates) {
    const gvk = gvkOf(object);
    if (gvk.group === '' && gvk.kind === 'Namespace' && typeof object.metadata.name === 'string') {
      // The API server labels every Namespace with its name; namespaceSelectors select by it.
      object.metadata.labels = { ...(isRecord(object.metadata.labels) ? object.metadata.labels : {}), [NAMESPACE_NAME_LABEL]: object.metadata.name };
    }
    if (scopes.isClusterScoped(gvk)) {
      // The API server clears it (rest.BeforeCreate/BeforeUpdate) before validating admission, so
      // Gatekeeper never sees it; gator, reading the file as is, would.
      const written = object.metadata.namespace;
      if (written !== undefined && written !== null && written !== '') {
        // A rendered line may lie in another file (a kustomization's `namespace:`).
        const node = lineNodeAt(doc.lines, ['metadata', 'namespace']) as (LineNode & { file?: string }) | undefined;
        warnings.push({
          location: { file: node?.file ?? doc.file, line: node?.line ?? doc.kindLine },
          code: 'ignored-field',
          message: `${object.kind} is cluster-scoped: the API server drops its metadata.namespace (${String(written)}) before Gatekeeper reviews it, so Parapet judges it without a namespace`,
        });
      }
      delete object.metadata.namespace;
    } else {
      const written = typeof object.metadata.namespace === 'string' && object.metadata.namespace !== '' ? object.metadata.namespace : undefined;
      object.metadata.namespace = nearest(rules.overrides, doc.file) ?? written ?? nearest(rules.defaults, doc.file) ?? 'default';
    }
    const key = `${gvk.group}/${gvk.kind}/${String(object.metadata.namespace ?? '')}/${String(object.metadata.name ?? object.metadata.generateName)}`;
    const twin = seen.get(key);
    // generateName objects are distinct by design; everything else must be unique per cluster.
    if (twin && typeof object.metadata.name === 'string') {
      const ns = object.metadata.namespace ? ` in namespace ${String(object.metadata.namespace)}` : '';
      errors.push({
        location: { file: doc.file, line: doc.kindLine },
        code: 'duplicate',
        message: `${object.kind} ${String(object.metadata.name)}${ns} is declared twice (also at ${twin.doc.file}:${twin.doc.kindLine}); the cluster would keep only one of them`,
      });
      continue;
    }
    const source = { object, gvk, doc };
    seen.set(key, source);
    objects.push(source);
  }
  return { objects, errors, warnings };
}
